"""What ``docs/configuration.md`` must say about every setting, computed from the config classes.

The reference tables of that page are written by hand (the meaning of a setting is prose), but
everything else in a row is the code's: which keys exist, their type and bounds, their default, and
the environment variable the shipped ``configs/global.yaml`` reads each from. This module walks the
config classes recursively (every provider type of ``PROVIDER_CONFIG_TYPES`` with its nested
sections - ``compute``, ``connection_pool``, ``circuit_breaker`` - and ``cache.llm`` with its price
table) and says, table by table, which rows the page must hold; ``test_configuration_reference.py``
compares. A setting added to a config class fails that test until the page documents it.

``python -m tests.docs.config_reference`` prints every expected row, meaning left blank: the rows to
paste when a setting is added.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from src.infrastructure.cache.config.cache_config import KNOWN_KEYS, CacheConfig
from src.infrastructure.cache.config.caches import IMPLICIT_CACHES, PROVIDER_CONFIG_TYPES, TYPE_KEY
from src.infrastructure.cache.config.llm_config import LLMCacheConfig
from src.infrastructure.cache.config.sections import FieldRules

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "configuration.md"
SHIPPED_YAML = ROOT / "configs" / "global.yaml"

#: The headings of the page's reference tables, each above exactly one table.
ROOT_TABLE = "The cache section"
EVERY_CACHE = "Every cache"
FAILURE_POLICY = "Failure policy"
LLM_TABLE = "The LLM-response cache"
#: The table of each provider type's own settings, by type name.
TYPE_TABLES = {"memory": "Memory caches", "redis": "Redis caches"}

#: Keys of the ``cache:`` section that are other tables' (``providers``, ``llm``), and the one
#: field of ``CacheConfig`` that is not a key at all (where the configuration was read from).
SECTIONS = ("providers", "llm")
NOT_A_KEY = ("source",)
#: ``default_provider`` has no default in the class: the parser's is ``memory`` (the cache that
#: always exists).
DEFAULT_PROVIDER_DEFAULT = "memory"
UNSET = "unset"
NO_VARIABLE = "—"


@dataclass(frozen=True)
class Row:
    """One setting as the page must show it; ``meaning`` is the page's own."""

    #: The key below its table's section: ``cache.`` for the cache section, ``cache.providers.<name>.``
    #: for the tables of caches, ``cache.llm.`` for the LLM-response cache.
    key: str
    type: str
    default: str
    variables: tuple[str, ...]

    def markdown(self, meaning: str = "") -> str:
        """The row as a Markdown table row."""
        variables = ", ".join(f"`{name}`" for name in self.variables) or NO_VARIABLE
        return f"| `{self.key}` | {self.type} | {self.default} | {variables} | {meaning} |"


@dataclass(frozen=True)
class _Setting:
    """One leaf setting of a config class: its path below the class, type, metadata and default."""

    path: str
    annotation: Any
    metadata: Mapping[str, Any]
    default: Any


def expected_tables() -> dict[str, list[Row]]:
    """Every reference table of the page, by heading, with the rows it must hold (in code order)."""
    shipped = yaml.safe_load(SHIPPED_YAML.read_text(encoding="utf-8"))["cache"]
    variables = _Variables(shipped)
    by_type = {name: {s.path: s for s in settings(cls)} for name, cls in PROVIDER_CONFIG_TYPES.items()}
    shared = _shared_paths(by_type)
    remote = {name for name, cls in PROVIDER_CONFIG_TYPES.items() if cls.remote}
    policy = _failure_policy_paths()
    tables: dict[str, list[Row]] = {ROOT_TABLE: [_default_provider_row(variables)]}
    tables[EVERY_CACHE] = [_type_row()] + [
        _cache_row(by_type, list(by_type), path, variables) for path in shared
    ]
    tables[FAILURE_POLICY] = [_cache_row(by_type, sorted(remote), path, variables) for path in policy]
    for name, heading in TYPE_TABLES.items():
        own = [path for path in by_type[name] if path not in shared and path not in policy]
        tables[heading] = [_cache_row(by_type, [name], path, variables) for path in own]
    tables[LLM_TABLE] = [_row(s.path, s, variables.at("llm", s.path)) for s in settings(LLMCacheConfig)]
    return tables


def cache_section_keys() -> set[str]:
    """The keys of the ``cache:`` section as ``CacheConfig`` declares them (its fields)."""
    return {item.name for item in dataclasses.fields(CacheConfig)} - set(NOT_A_KEY)


def parsed_section_keys() -> set[str]:
    """The keys of the ``cache:`` section as the parser accepts them."""
    return set(KNOWN_KEYS)


def settings(cls: type[Any], prefix: str = "", rules: FieldRules | None = None) -> Iterator[_Setting]:
    """Every leaf setting of ``cls``, nested sections walked (``connection_pool.timeout``), in field
    order; a mapping of sections (``prices``) as ``prices.<model>.<setting>`` after its own row."""
    hints = typing.get_type_hints(cls, include_extras=True)
    for item in dataclasses.fields(cls):
        annotation = hints[item.name]
        metadata = {**item.metadata, **(rules.by_field.get(item.name, {}) if rules else {})}
        path = f"{prefix}{item.name}"
        nested, nested_rules = _section_type(annotation)
        if nested is not None:
            yield from settings(nested, f"{path}.", nested_rules)
            continue
        yield _Setting(path, annotation, metadata, _default(item))
        value_type = _mapping_value_type(annotation)
        if value_type is not None:
            yield from settings(value_type, f"{path}.<model>.")


def _section_type(annotation: Any) -> tuple[type[Any] | None, FieldRules | None]:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        rules = next((extra for extra in extras if isinstance(extra, FieldRules)), None)
        return _section_type(base)[0], rules
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return annotation, None
    return None, None


def _mapping_value_type(annotation: Any) -> type[Any] | None:
    if typing.get_origin(annotation) in (Mapping, dict, typing.Mapping):
        value_type = typing.get_args(annotation)[1]
        if isinstance(value_type, type) and dataclasses.is_dataclass(value_type):
            return value_type
    return None


def _default(item: dataclasses.Field[Any]) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return dataclasses.MISSING


def _shared_paths(by_type: Mapping[str, Mapping[str, _Setting]]) -> list[str]:
    """Settings every type has alike (same type and default): the "every cache" table's, in order."""
    first, *others = by_type.values()
    return [
        path
        for path, setting in first.items()
        if all(path in other and _same(setting, other[path]) for other in others)
    ]


def _same(one: _Setting, other: _Setting) -> bool:
    return type_cell(one) == type_cell(other) and default_cell(one.default) == default_cell(other.default)


def _failure_policy_paths() -> list[str]:
    """The failure policy's settings: those of the first remote type that its base class declares."""
    from src.infrastructure.cache.config.base_config import BaseCacheConfig, RemoteCacheConfig

    base = {s.path for s in settings(BaseCacheConfig)}
    return [s.path for s in settings(RemoteCacheConfig) if s.path not in base]


class _Variables:
    """The environment variable the shipped ``global.yaml`` reads a setting from, if any."""

    def __init__(self, shipped: Mapping[str, Any]) -> None:
        self._shipped = shipped

    def at(self, *path: str) -> tuple[str, ...]:
        """The variable at ``cache.<path>`` (dotted parts allowed), as a 0- or 1-tuple."""
        node: Any = self._shipped
        for part in ".".join(path).split("."):
            if not isinstance(node, Mapping) or part not in node:
                return ()
            node = node[part]
        found = re.match(r"\$[{<]([A-Z0-9_]+)", node) if isinstance(node, str) else None
        return (found.group(1),) if found else ()

    def of_cache(self, types_: list[str], path: str) -> tuple[str, ...]:
        """The variables of the shipped entries (``memory``, ``redis``) of those types."""
        found: list[str] = []
        for cache in IMPLICIT_CACHES:
            if PROVIDER_CONFIG_TYPES[cache].type_name in types_:
                found.extend(self.at("providers", cache, path))
        return tuple(sorted(found))


def _default_provider_row(variables: _Variables) -> Row:
    return Row(
        "default_provider", "string", f"`{DEFAULT_PROVIDER_DEFAULT}`", variables.at("default_provider")
    )


def _type_row() -> Row:
    choices = ", ".join(f"`{name}`" for name in PROVIDER_CONFIG_TYPES)
    return Row(TYPE_KEY, f"one of {choices}", "the cache's name", ())


def _cache_row(
    by_type: Mapping[str, Mapping[str, _Setting]], types_: list[str], path: str, variables: _Variables
) -> Row:
    return _row(path, by_type[types_[0]][path], variables.of_cache(types_, path))


def _row(key: str, setting: _Setting, variables: tuple[str, ...]) -> Row:
    return Row(key, type_cell(setting), default_cell(setting.default), variables)


# ---------------------------------------------------------------- cells


def type_cell(setting: _Setting) -> str:
    """The type column: ``integer 1 to 65535``, ``number ≥ 0``, ``one of `a`, `b```, ``string, secret``."""
    return _type_text(setting.annotation, setting.metadata)


def _type_text(annotation: Any, metadata: Mapping[str, Any]) -> str:
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _type_text(options[0], metadata)
    if origin is Literal:
        return "one of " + ", ".join(f"`{choice}`" for choice in typing.get_args(annotation))
    if origin is tuple:
        return "list of strings"
    if origin in (Mapping, dict, typing.Mapping):
        return "mapping"
    if annotation is bool:
        return "bool"
    if annotation in (int, float):
        return ("integer" if annotation is int else "number") + _bounds(metadata)
    if annotation is str:
        return "string, secret" if metadata.get("secret") or metadata.get("url") else "string"
    raise AssertionError(f"a setting type the reference does not know how to show: {annotation!r}")


def _bounds(metadata: Mapping[str, Any]) -> str:
    low, high = metadata.get("minimum"), metadata.get("maximum")
    if low is None:
        assert high is None, "a setting bounded above only: say how to show it"
        return ""
    if high is None:
        return f" ≥ {_grouped(low)}"
    return f" {_grouped(low)} to {_grouped(high)}"


def _grouped(value: float) -> str:
    """A bound for people: ``86,400``, ``0.001``."""
    text = _number(value)
    return f"{int(text):,}" if text.isdigit() else text


def default_cell(value: Any) -> str:
    """The default column as YAML would write it: ``true``, ``3600``, ``agent:cache:``, ``[]``, unset."""
    if value is None or value is dataclasses.MISSING:
        return UNSET
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"`{_number(value)}`"
    if isinstance(value, tuple):
        return "`[]`" if not value else "`[" + ", ".join(map(str, value)) + "]`"
    if isinstance(value, Mapping):
        return "`{}`" if not value else f"`{dict(value)}`"
    return f"`{value}`"


def _number(value: float) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def main() -> None:
    """Print every expected table, meanings left blank."""
    for heading, rows in expected_tables().items():
        print(f"### {heading}\n\n| key | type | default | variable | meaning |")
        print("| --- | --- | --- | --- | --- |")
        for row in rows:
            print(row.markdown())
        print()


if __name__ == "__main__":
    main()
