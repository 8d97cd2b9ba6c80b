"""The one serializer of agent-cache: msgpack with a one-byte format version in front.

Both providers store exactly these bytes, so a value the Redis provider would reject is rejected by
the memory provider too, and cached objects are isolated from callers who mutate theirs. Pickle is
never used: a shared cache must not execute code found in it.
"""

from __future__ import annotations

from typing import Any

import msgpack

from src.interfaces.llm.cache import CacheSerializationError

#: First byte of every payload. A payload that starts otherwise was not written by this serializer
#: (or by an incompatible version of it) and is treated as undecodable.
FORMAT_VERSION = b"\x01"


class PayloadDecodeError(Exception):
    """Raised by :func:`loads` for bytes it cannot decode; providers turn it into a miss."""


def dumps(value: Any) -> bytes:
    """Encode ``value``; raise :class:`CacheSerializationError` naming the type for anything unsupported."""
    try:
        packed: bytes = msgpack.packb(value, use_bin_type=True)
    except (TypeError, OverflowError, ValueError) as exc:
        raise CacheSerializationError(
            f"cannot cache a value of type {type(value).__name__}: {exc} "
            "(supported: None, bool, int up to 64 bits, float, str, bytes, list, tuple, dict)"
        ) from exc
    return FORMAT_VERSION + packed


def loads(payload: bytes) -> Any:
    """Decode a payload written by :func:`dumps`; raise :class:`PayloadDecodeError` for anything else."""
    if payload[:1] != FORMAT_VERSION:
        raise PayloadDecodeError("unknown format version byte")
    try:
        return _unpack(payload)
    except Exception as exc:  # msgpack raises several unrelated types for corrupt input
        raise PayloadDecodeError(str(exc)) from exc


def _unpack(payload: bytes) -> Any:
    data = memoryview(payload)[1:]
    try:
        return msgpack.unpackb(data, strict_map_key=False, raw=False)
    except TypeError:
        # A dict with tuple keys: msgpack reads the tuple back as an unhashable list. Only then pay
        # for a Python hook per map (keeping the common path in C) and turn such keys into tuples.
        return msgpack.unpackb(data, strict_map_key=False, raw=False, object_pairs_hook=_dict_with_tuple_keys)


def _dict_with_tuple_keys(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    return {_hashable(key): value for key, value in pairs}


def _hashable(key: Any) -> Any:
    return tuple(_hashable(item) for item in key) if isinstance(key, list) else key
