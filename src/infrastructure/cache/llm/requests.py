"""A chat-completion request in normal form: what its key is the digest of.

:func:`normalize` walks the whole request once and returns plain data in which two requests that
mean the same are equal: deny-listed fields left out (:mod:`.fields`), aliases merged, ``None``
items dropped, ``1.0`` written ``1``, tuples as lists, ``api_base`` and header names in one
spelling, binary parts replaced by :data:`BINARY` tuples (SHA-256, length, media type). Tuples
appear nowhere else in the result - user tuples become lists - so a binary marker cannot be
mistaken for a value a caller sent. It also refuses what is not JSON-like, naming where it sits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from src.infrastructure.cache.llm.fields import (
    ALIASES,
    BASE64_FIELDS,
    BASE64_MIN_LENGTH,
    HEADER_FIELDS,
    IGNORED_HEADER_PREFIXES,
    IGNORED_HEADERS,
    IGNORED_QUERY,
    QUERY_FIELDS,
)

#: First item of the tuple that stands for a binary part: ``("binary", media type, sha256, length)``.
BINARY = "binary"
_CREDENTIAL_PARAMETER = "a credential parameter: who pays, not what is asked"
_CREDENTIAL_HEADER = "a credential, tracing or client header: not what is asked"
_DEFAULT_PORTS = {("https", 443), ("http", 80)}
_EXACT_FLOATS = 2**53  # floats with an integral value below this are ints exactly


@dataclass(frozen=True, slots=True)
class Normalized:
    """A request in normal form, what was left out of it (``field path -> why``), and whether it
    is sampled (no ``seed``; ``temperature`` absent or above 0)."""

    fields: dict[str, Any]
    ignored: dict[str, str]
    sampled: bool

    @property
    def model(self) -> str:
        model: str = self.fields["model"]
        return model


class BadRequestValue(TypeError):
    """A value a request cannot hold; ``path`` says where it sits (``['messages'][2]['content']``)."""

    def __init__(self, value: Any, path: str = "") -> None:
        self.value_type = type(value)
        self.path = path
        super().__init__(self._message())

    def at(self, segment: str) -> BadRequestValue:
        """This error with ``segment`` in front of its path."""
        self.path = segment + self.path
        self.args = (self._message(),)
        return self

    def _message(self) -> str:
        kind = f"{self.value_type.__module__}.{self.value_type.__qualname__}"
        return (
            f"request{self.path}: a {kind} cannot be part of an LLM request; use JSON-like data "
            "(dict with str keys, list, str, int, float, bool, None, bytes) or an object with model_dump()"
        )


def normalize(request: Any, ignored_fields: Mapping[str, str]) -> Normalized:
    """``request`` in normal form; ``ignored_fields`` are the deny-list (name -> why).

    ``TypeError``/``ValueError`` naming the field for a request that is not a chat-completion dict.
    """
    if not isinstance(request, Mapping):
        raise TypeError(
            "an LLM request is a mapping (an OpenAI-style chat-completion dict), "
            f"got {type(request).__name__}"
        )
    fields: dict[str, Any] = {}
    ignored: dict[str, str] = {}
    for name, value in request.items():
        if not isinstance(name, str):
            raise TypeError(f"request field names are str, got a {type(name).__name__} ({name!r:.40})")
        if name in ignored_fields:
            ignored[name] = ignored_fields[name]
            continue
        if value is None:  # what clients do with None: not sent
            continue
        target = ALIASES.get(name, name)
        try:
            normal = _field(target, value, ignored_fields, ignored)
        except BadRequestValue as exc:
            raise exc.at(f"[{name!r}]") from None
        if target in fields and fields[target] != normal:
            raise ValueError(
                f"request gives {target!r} twice, as {name!r} and as another spelling, with different "
                "values; give one"
            )
        fields[target] = normal
    _check_required(fields)
    return Normalized(fields, ignored, _is_sampled(fields))


def _field(name: str, value: Any, ignored_fields: Mapping[str, str], ignored: dict[str, str]) -> Any:
    """One top-level field in normal form (the transport fields have their own rules)."""
    if name == "api_base":
        return _endpoint(value, ignored)
    if name in HEADER_FIELDS:
        return _headers(name, value, ignored)
    if name in QUERY_FIELDS:
        return _query(name, value, ignored)
    if name == "extra_body" and isinstance(value, Mapping):
        kept = {}
        for key, item in value.items():
            if key in ignored_fields:
                ignored[f"extra_body.{key}"] = ignored_fields[key]
            else:
                kept[key] = item
        return _mapping(kept)
    return _value(value)


def _check_required(fields: Mapping[str, Any]) -> None:
    model = fields.get("model")
    if not isinstance(model, str) or not model:
        raise (TypeError if model is not None else ValueError)(
            f"request['model'] must be a non-empty str naming the model, got {model!r:.60}"
        )
    if not isinstance(fields.get("messages"), list):
        raise TypeError(
            "request['messages'] must be the list of chat messages, got "
            f"{type(fields.get('messages')).__name__}"
        )


def _is_sampled(fields: Mapping[str, Any]) -> bool:
    extra = fields.get("extra_body")
    extra = extra if isinstance(extra, dict) else {}
    if fields.get("seed", extra.get("seed")) is not None:
        return False
    temperature = fields.get("temperature", extra.get("temperature"))
    if temperature is None:
        return True  # the providers' default temperature is 1
    return isinstance(temperature, bool) or not isinstance(temperature, int | float) or temperature > 0


# ---------------------------------------------------------------- values


def _value(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return _data_url(value) if value.startswith("data:") else value
    if kind is dict:
        return _mapping(value)
    if kind is list or kind is tuple:
        return _items(value)
    if kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return int(value) if value.is_integer() and abs(value) < _EXACT_FLOATS else value
    if kind is bytes or kind is bytearray or kind is memoryview:
        return _binary(bytes(value), "application/octet-stream")
    return _other(value)


def _other(value: Any) -> Any:
    """A subclass of a JSON type, another mapping or an SDK object (``model_dump()``)."""
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, str):
        return _value(str(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _value(float(value) if isinstance(value, float) else int(value))
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _value(dump(mode="json", exclude_none=True))
    raise BadRequestValue(value)


def _mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    out = {}
    for key, item in value.items():
        if item is None:
            continue
        if not isinstance(key, str):
            raise BadRequestValue(key, f"[<{type(key).__name__} key>]")
        try:
            if key in BASE64_FIELDS and type(item) is str and len(item) >= BASE64_MIN_LENGTH:
                out[key] = _binary(item.encode(), "")
            else:
                out[key] = _value(item)
        except BadRequestValue as exc:
            raise exc.at(f"[{key!r:.40}]") from None
    return out


def _items(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    out = []
    for index, item in enumerate(values):
        try:
            out.append(_value(item))
        except BadRequestValue as exc:
            raise exc.at(f"[{index}]") from None
    return out


def _data_url(text: str) -> Any:
    """A ``data:<type>;base64,<data>`` URL as its binary marker; any other text as it is."""
    head, comma, _ = text.partition(",")
    if not comma or not head.endswith(";base64") or len(head) > 200:
        return text
    return _binary(text.encode(), head[len("data:") : -len(";base64")])


def _binary(data: bytes, media_type: str) -> tuple[str, str, str, int]:
    """The marker of a binary part: its media type, the SHA-256 and length of its data as given."""
    return (BINARY, media_type, hashlib.sha256(data).hexdigest(), len(data))


# ---------------------------------------------------------------- transport fields


def _endpoint(value: Any, ignored: dict[str, str]) -> str:
    """``api_base`` without credentials and in one spelling: scheme and host in lower case,
    default port, user name, password, fragment and trailing ``/`` left out."""
    if not isinstance(value, str):
        raise BadRequestValue(value)
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text  # not a URL we can read: compared as given (it cannot hold a parsed password)
    if not parts.scheme or not parts.hostname:
        return text
    scheme, host = parts.scheme.lower(), parts.hostname
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or (scheme, port) in _DEFAULT_PORTS else f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        ignored["api_base (user info)"] = _CREDENTIAL_PARAMETER
    query = []
    for name, item in parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() in IGNORED_QUERY:
            ignored[f"api_base?{name}"] = _CREDENTIAL_PARAMETER
        else:
            query.append((name, item))
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), urlencode(query), ""))


def _headers(field: str, value: Any, ignored: dict[str, str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise BadRequestValue(value)
    out = {}
    for name, item in value.items():
        lower = str(name).lower()
        if lower in IGNORED_HEADERS or lower.startswith(IGNORED_HEADER_PREFIXES):
            ignored[f"{field}.{lower}"] = _CREDENTIAL_HEADER
        elif item is not None:
            out[lower] = _value(item)
    return out


def _query(field: str, value: Any, ignored: dict[str, str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise BadRequestValue(value)
    kept = {}
    for name, item in value.items():
        if str(name).lower() in IGNORED_QUERY:
            ignored[f"{field}.{name}"] = _CREDENTIAL_PARAMETER
        else:
            kept[name] = item
    return _mapping(kept)
