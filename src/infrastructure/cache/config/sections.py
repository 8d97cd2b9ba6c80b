"""Turning a parsed YAML mapping into a frozen dataclass: type coercion and validation by field.

A config class is a frozen dataclass whose fields carry optional metadata (``minimum``, ``maximum``,
``secret``). :func:`build_section` checks for unknown keys, coerces each value to its field's type
(the strings that ``${VAR}`` interpolation produces included) and raises :class:`SettingError`
naming the key path and the bad value - or ``'***'`` for a secret. A field may also carry a
``check`` (a callable raising ``ValueError``) for rules beyond its type, such as a URL's syntax.
A nested dataclass whose fields carry no metadata (one defined outside the config package) gets its
rules from :class:`FieldRules` in an ``Annotated`` type.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Literal, TypeVar

from src.infrastructure.cache.config.urls import MASK, mask_url
from src.interfaces.llm.cache import CacheConfigError

__all__ = [  # mask_url included: the providers and the benchmarks import it from here
    "MASK",
    "FieldRules",
    "Hidden",
    "SettingError",
    "bounded",
    "build_section",
    "check_field",
    "coerce",
    "did_you_mean",
    "display",
    "is_name",
    "key_path",
    "mask_url",
    "refuse_unknown_keys",
    "secret",
    "url_with_secret",
]

T = TypeVar("T")

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
#: What a setting or provider name can look like. A key that does not is never shown: it may be a
#: secret, as ``{password:s3cret}`` (no space after the colon) is one key, ``password:s3cret``.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
#: A message of a config class's own check that is about one of its fields: ``"db: must be 0..."``.
_ABOUT_FIELD = re.compile(r"(?s)(?P<field>[A-Za-z_]\w*)(?P<index>(?:\[\d+\])?): (?P<problem>.+)")


class SettingError(CacheConfigError):
    """A setting is wrong: ``path`` is its key path (``cache.providers.redis.port``), ``problem`` what
    is wrong with it. The message is ``"<path>: <problem>"``; the path lets the loader add where the
    value came from (an environment variable)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclasses.dataclass(frozen=True)
class FieldRules:
    """Metadata, by field name, for a nested dataclass that carries none itself (``Annotated[cls,
    FieldRules({...})]``): the same keys as field metadata (``minimum``, ``maximum``, ...)."""

    by_field: Mapping[str, Mapping[str, Any]]


@dataclasses.dataclass(frozen=True)
class Hidden:
    """A secret inside a value that is compared or hashed (a pool's key): equal by its value,
    shown as ``'***'``."""

    value: Any

    def __repr__(self) -> str:
        return repr(MASK)


def is_name(key: Any) -> bool:
    """True if ``key`` looks like a setting or cache name, so it may be shown in a message."""
    return isinstance(key, str) and _NAME.fullmatch(key) is not None


def key_path(path: str, key: Any) -> str:
    """``path.key`` for a key that looks like a name; else a path that does not show the key."""
    shown = key if is_name(key) else "<key not shown: not a name; a space missing after a colon?>"
    return f"{path}.{shown}" if path else shown


def did_you_mean(word: Any, choices: Iterable[Any]) -> str:
    """``"; did you mean 'x'?"`` for the choice closest to ``word``, or ``""`` if none is close.

    Only a ``word`` that looks like a name is compared: anything else may be a secret, and a
    suggestion derived from it would hint at its text.
    """
    if not is_name(word):
        return ""
    names = [str(choice) for choice in choices]
    close = difflib.get_close_matches(word, names, n=1) or difflib.get_close_matches(word.lower(), names, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def secret(**metadata: Any) -> dict[str, Any]:
    """Field metadata for a secret: never shown in errors, repr or display output."""
    return {"secret": True, **metadata}


def url_with_secret(check: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Field metadata for a URL that may carry a password: shown with the password masked, and
    validated by ``check`` (which raises ``ValueError`` with a message that never holds the password)."""
    return {"url": True, "check": check}


def bounded(minimum: float | None = None, maximum: float | None = None) -> dict[str, Any]:
    """Field metadata for a number that must lie in ``[minimum, maximum]``."""
    return {"minimum": minimum, "maximum": maximum}


def check_field(value: Any, metadata: Mapping[str, Any]) -> None:
    """Run the field's own ``check`` on a set value; ``ValueError`` says what is wrong."""
    check = metadata.get("check")
    if check is not None and value is not None:
        check(value)


def _shown(value: Any, metadata: Mapping[str, Any]) -> str:
    if metadata.get("secret"):
        return MASK
    if metadata.get("url"):
        return repr(mask_url(value)) if isinstance(value, str) else f"a {type(value).__name__}"
    return repr(value)


# ---------------------------------------------------------------- sections


def build_section(
    cls: type[T],
    data: Any,
    path: str,
    rules: FieldRules | None = None,
    *,
    also_known: Collection[str] = (),
) -> T:
    """Build ``cls`` from ``data`` (a mapping or ``None``), validating every key under ``path``.

    ``rules`` adds metadata to fields that carry none. Keys in ``also_known`` are read by the caller
    (a cache's ``type``): they are skipped here, and offered when a key is misspelt.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise SettingError(path, f"expected a mapping of settings, got {type(data).__name__}")
    fields = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    refuse_unknown_keys(data, path, [*fields, *also_known])
    hints = typing.get_type_hints(cls, include_extras=True)
    values = {
        name: coerce(data[name], hints[name], f"{path}.{name}", _metadata(field, rules))
        for name, field in fields.items()
        if name in data
    }
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # a check across fields, in the class's __post_init__
        raise _section_error(path, str(exc), fields) from None


def refuse_unknown_keys(data: Mapping[Any, Any], path: str, known: Collection[str]) -> None:
    """:class:`SettingError` for the first key of ``data`` not in ``known``, with a suggestion."""
    for key in data:
        if key not in known:
            raise SettingError(
                key_path(path, key),
                f"unknown setting{did_you_mean(key, known)} (known: {', '.join(sorted(known))})",
            )


def _metadata(field: dataclasses.Field[Any], rules: FieldRules | None) -> Mapping[str, Any]:
    extra = rules.by_field.get(field.name) if rules else None
    return {**field.metadata, **extra} if extra else field.metadata


def _section_error(path: str, message: str, fields: Collection[str]) -> SettingError:
    """A class's own check names the field first (``"db: must be 0 ..."``): the error then names
    that field's path, so that where its value came from can be told too."""
    about = _ABOUT_FIELD.fullmatch(message)
    if about and about["field"] in fields:
        return SettingError(f"{path}.{about['field']}{about['index']}", about["problem"])
    return SettingError(path, message)


# ---------------------------------------------------------------- values


def coerce(value: Any, annotation: Any, path: str, metadata: Mapping[str, Any]) -> Any:
    """Convert ``value`` to ``annotation`` or raise :class:`SettingError` naming ``path``."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        return _to_optional(value, annotation, path, metadata)
    if origin is Literal:
        return _to_choice(value, typing.get_args(annotation), path, metadata)
    if origin is tuple:
        return _to_tuple(value, typing.get_args(annotation)[0], path, metadata)
    if origin is typing.Annotated:
        return _to_annotated(value, annotation, path)
    if dataclasses.is_dataclass(annotation):
        return build_section(annotation, value, path)  # type: ignore[arg-type]
    convert = _SCALARS.get(annotation)
    if convert is None:  # a bug in a config class
        raise SettingError(path, f"unsupported setting type {annotation!r}")
    return convert(value, annotation, path, metadata)


def _to_optional(value: Any, annotation: Any, path: str, metadata: Mapping[str, Any]) -> Any:
    """``None`` for an absent or empty value (``${VAR:}`` gives ``""``), else the one other type."""
    if value is None or value == "":
        return None
    options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return coerce(value, options[0], path, metadata)


def _to_choice(value: Any, choices: tuple[Any, ...], path: str, metadata: Mapping[str, Any]) -> Any:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in choices:
        raise SettingError(
            path,
            f"expected one of {', '.join(map(str, choices))}, got {_shown(value, metadata)}"
            f"{did_you_mean(text, choices)}",
        )
    return text


def _to_tuple(value: Any, item_type: Any, path: str, metadata: Mapping[str, Any]) -> tuple[Any, ...]:
    """A YAML list, or a comma-separated string (what an environment variable can hold)."""
    items = [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise SettingError(path, f"expected a list, got {_shown(value, metadata)}")
    return tuple(coerce(item, item_type, f"{path}[{i}]", metadata) for i, item in enumerate(items))


def _to_annotated(value: Any, annotation: Any, path: str) -> Any:
    base, *extras = typing.get_args(annotation)
    rules = next((extra for extra in extras if isinstance(extra, FieldRules)), None)
    return build_section(base, value, path, rules)


def _to_bool(value: Any, _kind: type, path: str, metadata: Mapping[str, Any]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise SettingError(path, f"expected true or false, got {_shown(value, metadata)}")


def _to_string(value: Any, _kind: type, path: str, metadata: Mapping[str, Any]) -> str:
    if not isinstance(value, str):
        shown = f"{type(value).__name__} {_shown(value, metadata)}"
        raise SettingError(path, f"expected a string, got {shown} (quote it in YAML)")
    try:
        _check_utf8(value)
        check_field(value, metadata)
    except ValueError as exc:
        raise SettingError(path, str(exc)) from None
    return value


def _check_utf8(text: str) -> None:
    """``ValueError`` unless ``text`` encodes to UTF-8, as every setting is encoded for the server.

    ``os.environ`` keeps bytes that are not UTF-8 as lone surrogates, which pass as ``str`` until
    the provider's ``.encode()``.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            "not valid UTF-8 text: it holds bytes that do not decode (as an environment variable set "
            "in another encoding does); write it in UTF-8"
        ) from None


def _to_number(value: Any, kind: type, path: str, metadata: Mapping[str, Any]) -> float:
    """An int or float setting, in its field's bounds. Text is parsed; bools and NaN are refused."""
    number = _parse_number(value, kind)
    if number is None:
        name = "an integer" if kind is int else "a number"
        raise SettingError(path, f"expected {name}, got {_shown(value, metadata)}")
    low, high = metadata.get("minimum"), metadata.get("maximum")
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise SettingError(path, f"must be {bounds}, got {_shown(value, metadata)}")
    return number


def _parse_number(value: Any, kind: type) -> float | None:
    """``value`` as ``kind`` (int or float), or None if it is not one: a bool, a fraction for an
    int, text that does not parse, infinity or NaN."""
    if isinstance(value, str):
        value = _parse_text(value.strip(), kind)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if kind is float:
        return _finite_float(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else None  # is_integer() is False for inf and NaN
    return value


def _parse_text(text: str, kind: type) -> float | None:
    try:
        return int(text) if kind is int else float(text)
    except ValueError:
        return None


def _finite_float(value: float) -> float | None:
    try:
        number = float(value)
    except OverflowError:  # an int beyond a float's range
        return None
    return number if math.isfinite(number) else None


_SCALARS: dict[Any, Callable[[Any, type, str, Mapping[str, Any]], Any]] = {
    bool: _to_bool,
    int: _to_number,
    float: _to_number,
    str: _to_string,
}


def display(section: Any) -> dict[str, Any]:
    """A plain dict of ``section`` for showing to people, with every set secret replaced by ``'***'``.

    Settings come in field order, nested sections after them (field order alone would put the
    sections a base class declares, such as ``compute``, before the class's own settings).
    """
    fields = sorted(
        dataclasses.fields(section), key=lambda item: dataclasses.is_dataclass(getattr(section, item.name))
    )
    return {field.name: _displayed(getattr(section, field.name), field) for field in fields}


def _displayed(value: Any, field: dataclasses.Field[Any]) -> Any:
    if dataclasses.is_dataclass(value):
        return display(value)
    if field.metadata.get("secret") and value:
        return MASK
    if field.metadata.get("url") and value:
        return mask_url(value)
    return list(value) if isinstance(value, tuple) else value
