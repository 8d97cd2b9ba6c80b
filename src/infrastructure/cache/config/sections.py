"""Turning a parsed YAML mapping into a frozen dataclass: type coercion and validation by field.

A config class is a frozen dataclass whose fields carry optional metadata (``minimum``, ``maximum``,
``secret``). :func:`build_section` checks for unknown keys, coerces each value to its field's type
(the strings that ``${VAR}`` interpolation produces included) and raises :class:`CacheConfigError`
naming the key path and the bad value - or ``'***'`` for a secret. A field may also carry a
``check`` (a callable raising ``ValueError``) for rules beyond its type, such as a URL's syntax.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from src.infrastructure.cache.config.urls import MASK, mask_url
from src.interfaces.llm.cache import CacheConfigError

__all__ = [  # mask_url included: the providers and the benchmarks import it from here
    "MASK",
    "bounded",
    "build_section",
    "check_field",
    "coerce",
    "display",
    "key_path",
    "mask_url",
    "secret",
    "url_with_secret",
]

T = TypeVar("T")

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
#: What a setting or provider name can look like. A key that does not is never shown: it may be a
#: secret, as ``{password:s3cret}`` (no space after the colon) is one key, ``password:s3cret``.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def key_path(path: str, key: Any) -> str:
    """``path.key`` for a key that looks like a name; else a path that does not show the key."""
    shown = (
        key
        if isinstance(key, str) and _NAME.fullmatch(key)
        else "<key not shown: not a name; a space missing after a colon?>"
    )
    return f"{path}.{shown}" if path else shown


def secret(**metadata: Any) -> dict[str, Any]:
    """Field metadata for a secret: never shown in errors, repr or display output."""
    return {"secret": True, **metadata}


def url_with_secret(check: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Field metadata for a URL that may carry a password: shown with the password masked, and
    validated by ``check`` (which raises ``ValueError`` with a message that never holds the password)."""
    return {"url": True, "check": check}


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


def bounded(minimum: float | None = None, maximum: float | None = None) -> dict[str, Any]:
    """Field metadata for a number that must lie in ``[minimum, maximum]``."""
    return {"minimum": minimum, "maximum": maximum}


def build_section(cls: type[T], data: Any, path: str) -> T:
    """Build ``cls`` from ``data`` (a mapping or ``None``), validating every key under ``path``."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise CacheConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    fields = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            hint = difflib.get_close_matches(str(key), fields, n=1) if _NAME.fullmatch(str(key)) else []
            did_you_mean = f"; did you mean '{hint[0]}'?" if hint else ""
            raise CacheConfigError(
                f"{key_path(path, key)}: unknown setting{did_you_mean} (known: {', '.join(sorted(fields))})"
            )
    hints = typing.get_type_hints(cls)
    values = {
        name: coerce(data[name], hints[name], f"{path}.{name}", field.metadata)
        for name, field in fields.items()
        if name in data
    }
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # a check across fields, in the class's __post_init__
        raise CacheConfigError(f"{path}: {exc}") from None


def coerce(value: Any, annotation: Any, path: str, metadata: Mapping[str, Any]) -> Any:
    """Convert ``value`` to ``annotation`` or raise :class:`CacheConfigError` naming ``path``."""
    shown = _shown(value, metadata)
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if value is None or value == "":
            return None
        return coerce(value, options[0], path, metadata)
    if origin is Literal:
        choices = typing.get_args(annotation)
        text = str(value).strip().lower() if isinstance(value, str) else value
        if text not in choices:
            raise CacheConfigError(f"{path}: expected one of {', '.join(map(str, choices))}, got {shown}")
        return text
    if origin is tuple:
        items = (
            [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value
        )
        if not isinstance(items, list | tuple):
            raise CacheConfigError(f"{path}: expected a list, got {shown}")
        return tuple(
            coerce(item, typing.get_args(annotation)[0], f"{path}[{i}]", metadata)
            for i, item in enumerate(items)
        )
    if dataclasses.is_dataclass(annotation):
        return build_section(annotation, value, path)  # type: ignore[arg-type]
    if annotation is bool:
        return _to_bool(value, path, shown)
    if annotation is int or annotation is float:
        return _check_range(_to_number(value, annotation, path, shown), path, shown, metadata)
    if annotation is str:
        if not isinstance(value, str):
            raise CacheConfigError(
                f"{path}: expected a string, got {type(value).__name__} {shown} (quote it in YAML)"
            )
        try:
            _check_utf8(value)
            check_field(value, metadata)
        except ValueError as exc:
            raise CacheConfigError(f"{path}: {exc}") from None
        return value
    raise CacheConfigError(f"{path}: unsupported setting type {annotation!r}")  # a bug in a config class


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


def _to_bool(value: Any, path: str, shown: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise CacheConfigError(f"{path}: expected true or false, got {shown}")


def _to_number(value: Any, kind: type, path: str, shown: str) -> float | int:
    name = "an integer" if kind is int else "a number"
    if isinstance(value, bool):
        raise CacheConfigError(f"{path}: expected {name}, got {shown}")
    if isinstance(value, str):
        try:
            value = int(value.strip()) if kind is int else float(value.strip())
        except ValueError:
            raise CacheConfigError(f"{path}: expected {name}, got {shown}") from None
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if kind is int and not isinstance(value, int):
        raise CacheConfigError(f"{path}: expected {name}, got {shown}")
    if kind is float and isinstance(value, int | float):
        value = float(value)
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise CacheConfigError(f"{path}: expected {name}, got {shown}")
    return value


def _check_range(value: float, path: str, shown: str, metadata: Mapping[str, Any]) -> float:
    low, high = metadata.get("minimum"), metadata.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise CacheConfigError(f"{path}: must be {bounds}, got {shown}")
    return value


def display(section: Any) -> dict[str, Any]:
    """A plain dict of ``section`` for showing to people, with every set secret replaced by ``'***'``."""
    shown: dict[str, Any] = {}
    for field in dataclasses.fields(section):
        value = getattr(section, field.name)
        if dataclasses.is_dataclass(value):
            shown[field.name] = display(value)
        elif field.metadata.get("secret") and value:
            shown[field.name] = MASK
        elif field.metadata.get("url") and value:
            shown[field.name] = mask_url(value)
        else:
            shown[field.name] = list(value) if isinstance(value, tuple) else value
    return shown
