"""Canonical, typed cache keys: the same value gives the same bytes in every process, forever.

:func:`canonical_bytes` encodes a value into bytes that depend only on the value's type and
content - never on ``hash()`` (salted per process), ``id()``, ``repr()``, the iteration order of a
set or the insertion order of a dict - and that differ whenever type or structure differ:

* ``1``, ``1.0``, ``True`` and ``"1"`` are four keys (``bool`` is not ``int``, ``int`` not ``float``);
* ``None``, ``""``, ``b""``, ``()``, ``[]`` and ``{}`` are six keys;
* ``("x y", "z")`` and ``("x", "y z")`` differ: every string and byte string carries its length;
* a ``tuple`` is not a ``list``, a ``set`` is not a ``frozenset``;
* ``{"a": 1, "b": 2}`` equals ``{"b": 2, "a": 1}``, and ``{"b", "a"}`` equals ``{"a", "b"}``:
  dict items and set members are sorted by their own canonical bytes.

:func:`digest` is the SHA-256 of those bytes, in hex: what a key holds in place of its arguments.
The ``cached`` decorator (``cached.py``) and the LLM-response cache build their keys with it.

The encoding (tag byte, then content; ``len`` is an unsigned 64-bit big-endian count)::

    None  N        True  T        False  F
    int   i len <two's complement, big-endian, (bit_length + 8) // 8 bytes>   (any size)
    float f <IEEE 754 binary64, big-endian>      (every NaN as one; -0.0 is not 0.0)
    str   s len <UTF-8, lone surrogates kept>    bytes  b len <bytes>
    tuple t len <items>    list l len <items>
    dict  d len <key value>... sorted      set S len <members> sorted   frozenset Z ...
    Enum member          e <class> <member name>
    dataclass instance   D <class> len <field name, value>... (fields with compare=True, in order)
    NamedTuple           n <class> len <field name, value>...
    class (e.g. ``cls``) c <class>
    __cache_key__()      k <class> <its return value>

where ``<class>`` is the class's ``module.qualname`` as a str. A subclass of a built-in type
(a ``str`` subclass, ``OrderedDict``, ``defaultdict``, ...) is refused unless it is one of the
kinds above or defines ``__cache_key__``: its extra state would otherwise be silently left out.

Any other type raises ``TypeError`` naming the type and where it sits in the value; the fix is a
``__cache_key__(self)`` method on its class returning a supported value that identifies it (say,
``return self.user_id``), or making it a dataclass. Values nested too deeply (or containing
themselves) raise ``ValueError``.

:data:`ENCODING_VERSION` is the first byte of every encoding: a future change of the encoding
changes it, so new digests never equal old ones.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import math
import struct
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

#: First byte of :func:`canonical_bytes`. Bump it whenever the encoding changes.
ENCODING_VERSION = 1

#: What a key may be built from, for messages.
SUPPORTED = (
    "None, bool, int, float, str, bytes, tuple, list, dict, set, frozenset, Enum members, "
    "dataclass and NamedTuple instances, classes, and objects with a __cache_key__() method"
)

_LENGTH = struct.Struct(">Q")
_FLOAT = struct.Struct(">d")
_NAN = _FLOAT.pack(math.nan)  # one bit pattern for every NaN: its payload means nothing here


@runtime_checkable
class SupportsCacheKey(Protocol):
    """An object that says what identifies it in a cache key.

    ``__cache_key__()`` returns a supported value (not the object itself) that is equal for two
    objects exactly when a cached function may answer them alike, and is stable across processes:
    a database id, a name, a tuple of settings - never ``id(self)``. The key also holds the
    object's class, so two classes returning the same value do not share entries.
    """

    def __cache_key__(self) -> Any: ...


class UnsupportedKeyValue(TypeError):
    """A value cannot be part of a key. ``path`` says where it sits, e.g. ``['user'].profile[0]``."""

    def __init__(self, value: Any, path: str = "") -> None:
        self.value_type = type(value)
        self.path = path
        super().__init__(self._message())

    def at(self, segment: str) -> UnsupportedKeyValue:
        """This error with ``segment`` in front of its path (containers add theirs as it rises)."""
        self.path = segment + self.path
        self.args = (self._message(),)
        return self

    def _message(self) -> str:
        where = f" at {self.path}" if self.path else ""
        kind = self.value_type
        subclass = next((base for base in kind.__mro__[1:-1] if base in _ENCODERS), None)
        what = f"a subclass of {subclass.__name__}" if subclass is not None else "not supported"
        return (
            f"cannot build a cache key from a {_class_path(kind)}{where} ({what}); "
            f"define __cache_key__(self) on {kind.__qualname__} returning a supported value that "
            f"identifies it (e.g. its id), or make it a dataclass. Supported: {SUPPORTED}"
        )


def canonical_bytes(value: Any) -> bytes:
    """Return the canonical encoding of ``value`` (see the module docstring), version byte first.

    Equal bytes mean equal type and content; the bytes are the same in every process and Python
    version. Raises :class:`UnsupportedKeyValue` (a ``TypeError``) for a value of an unsupported
    type, naming it and its path; ``ValueError`` for a value nested too deeply or containing itself.
    """
    out = bytearray((ENCODING_VERSION,))
    try:
        _encode(value, out)
    except RecursionError:
        raise ValueError(
            "cannot build a cache key from a value nested too deeply, or one that contains itself "
            "(directly, or through __cache_key__)"
        ) from None
    return bytes(out)


def digest(value: Any) -> str:
    """Return the SHA-256 of :func:`canonical_bytes` of ``value``: 64 lowercase hex characters."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


# ---------------------------------------------------------------- encoders


def _encode(value: Any, out: bytearray) -> None:
    encoder = _ENCODERS.get(type(value))  # exact types first: subclasses are decided below
    if encoder is None:
        encoder = _encoder_of_kind(value)
    encoder(value, out)


def _encoder_of_kind(value: Any) -> Callable[[Any, bytearray], None]:
    kind = type(value)
    if callable(getattr(kind, "__cache_key__", None)):
        return _encode_cache_key
    if isinstance(value, enum.Enum):
        return _encode_enum
    if isinstance(value, type):
        return _encode_class
    if dataclasses.is_dataclass(value):
        return _encode_dataclass
    if isinstance(value, tuple) and hasattr(kind, "_fields"):
        return _encode_namedtuple
    raise UnsupportedKeyValue(value)


def _encode_none(value: None, out: bytearray) -> None:
    out += b"N"


def _encode_bool(value: bool, out: bytearray) -> None:
    out += b"T" if value else b"F"


def _encode_int(value: int, out: bytearray) -> None:
    data = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
    out += b"i" + _LENGTH.pack(len(data)) + data


def _encode_float(value: float, out: bytearray) -> None:
    out += b"f" + (_NAN if math.isnan(value) else _FLOAT.pack(value))


def _encode_str(value: str, out: bytearray) -> None:
    data = value.encode("utf-8", "surrogatepass")  # a lone surrogate is still a distinct str
    out += b"s" + _LENGTH.pack(len(data)) + data


def _encode_bytes(value: bytes, out: bytearray) -> None:
    out += b"b" + _LENGTH.pack(len(value)) + value


def _encode_items(tag: bytes, items: tuple[Any, ...] | list[Any], out: bytearray) -> None:
    out += tag + _LENGTH.pack(len(items))
    for index, item in enumerate(items):
        try:
            _encode(item, out)
        except UnsupportedKeyValue as exc:
            raise exc.at(f"[{index}]") from None


def _encode_tuple(value: tuple[Any, ...], out: bytearray) -> None:
    _encode_items(b"t", value, out)


def _encode_list(value: list[Any], out: bytearray) -> None:
    _encode_items(b"l", value, out)


def _encode_dict(value: dict[Any, Any], out: bytearray) -> None:
    pairs = []
    for key, item in value.items():
        try:
            pairs.append((_alone(key), _alone(item)))
        except UnsupportedKeyValue as exc:
            raise exc.at(_segment(key)) from None
    pairs.sort()
    out += b"d" + _LENGTH.pack(len(pairs))
    for encoded_key, encoded_item in pairs:
        out += encoded_key + encoded_item


def _encode_members(tag: bytes, value: set[Any] | frozenset[Any], out: bytearray) -> None:
    try:
        members = sorted(_alone(member) for member in value)
    except UnsupportedKeyValue as exc:
        raise exc.at("{member}") from None
    out += tag + _LENGTH.pack(len(members)) + b"".join(members)


def _encode_set(value: set[Any], out: bytearray) -> None:
    _encode_members(b"S", value, out)


def _encode_frozenset(value: frozenset[Any], out: bytearray) -> None:
    _encode_members(b"Z", value, out)


def _encode_enum(value: enum.Enum, out: bytearray) -> None:
    out += b"e"
    _encode_str(_class_path(type(value)), out)
    _encode_str(value.name, out)


def _encode_class(value: type, out: bytearray) -> None:
    out += b"c"
    _encode_str(_class_path(value), out)


def _encode_fields(tag: bytes, value: Any, names: list[str], out: bytearray) -> None:
    out += tag
    _encode_str(_class_path(type(value)), out)
    out += _LENGTH.pack(len(names))
    for name in names:
        _encode_str(name, out)
        try:
            _encode(getattr(value, name), out)
        except UnsupportedKeyValue as exc:
            raise exc.at(f".{name}") from None


def _encode_dataclass(value: Any, out: bytearray) -> None:
    # compare=True fields: what the dataclass's own __eq__ looks at, so equal instances share a key
    # and a field left out of equality (a client, a logger) does not have to be encodable.
    names = [field.name for field in dataclasses.fields(value) if field.compare]
    _encode_fields(b"D", value, names, out)


def _encode_namedtuple(value: tuple[Any, ...], out: bytearray) -> None:
    _encode_fields(b"n", value, list(getattr(type(value), "_fields")), out)  # noqa: B009


def _encode_cache_key(value: SupportsCacheKey, out: bytearray) -> None:
    out += b"k"
    _encode_str(_class_path(type(value)), out)
    try:
        _encode(value.__cache_key__(), out)
    except UnsupportedKeyValue as exc:
        raise exc.at(".__cache_key__()") from None


def _alone(value: Any) -> bytes:
    """The encoding of ``value`` by itself: what dict items and set members are sorted by."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _segment(key: Any) -> str:
    """How a dict key shows in an error's path: a scalar as itself (cut short), else by its type."""
    if isinstance(key, str | int | float | bool | None):
        return f"[{key!r:.40}]"
    return f"[<{type(key).__name__} key>]"


def _class_path(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


_ENCODERS: dict[type, Callable[[Any, bytearray], None]] = {
    type(None): _encode_none,
    bool: _encode_bool,
    int: _encode_int,
    float: _encode_float,
    str: _encode_str,
    bytes: _encode_bytes,
    tuple: _encode_tuple,
    list: _encode_list,
    dict: _encode_dict,
    set: _encode_set,
    frozenset: _encode_frozenset,
}
