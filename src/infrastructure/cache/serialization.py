"""The one serializer of agent-cache: msgpack with a one-byte format version in front.

Both providers store exactly these bytes, so a value the Redis provider would reject is rejected by
the memory provider too, and cached objects are isolated from callers who mutate theirs. Pickle is
never used: a shared cache must not execute code found in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import msgpack

from src.interfaces.llm.cache import CacheSerializationError

#: First byte of every payload. A payload that starts otherwise was not written by this serializer
#: (or by an incompatible version of it) and is treated as undecodable.
FORMAT_VERSION = b"\x01"
#: First byte of a compute-once lease kept in a key while its value is computed (``leases``): a
#: miss for every reader, silently - it is ours, not a foreign payload.
LEASE_MARK = b"\xfe"


K = TypeVar("K")

_packb = msgpack.packb
_unpackb = msgpack.unpackb


class PayloadDecodeError(Exception):
    """Raised by :func:`loads` for bytes it cannot decode; providers turn it into a miss."""


class PendingValue(PayloadDecodeError):
    """Raised by :func:`loads` for a lease mark: a value is being computed, so a plain miss."""


#: What msgpack's packer says past its nesting limit, and what we say instead.
_PACKER_TOO_DEEP = "recursion limit exceeded"
_TOO_DEEP_MESSAGE = (
    "cannot cache a value of type {kind}: it is nested too deeply to be read back "
    "(msgpack rebuilds about 1000 levels of lists, tuples and dicts); flatten it"
)

#: Payloads shorter than this cannot nest as deep as msgpack's unpacker refuses (every list, tuple
#: or dict takes at least one byte), so only longer ones, of containers (not one long str or bytes),
#: pay for :func:`_check_nesting`: ~0.6 µs, plus a few ns per item inside.
_NESTING_CHECKED_FROM = 1000
_CONTAINERS = (list, tuple, dict)  # a constant: ``list | tuple | dict`` builds a union per call


def dumps(value: Any) -> bytes:
    """Encode ``value``; raise :class:`CacheSerializationError` naming the type for anything unsupported,
    or saying so for a value nested too deeply for :func:`loads` to rebuild."""
    try:
        # msgpack >= 1.0 defaults to use_bin_type=True (bytes stay bytes, str stays str); passing
        # it anyway costs ~0.1 µs of keyword parsing on every call.
        packed: bytes = _packb(value)
    except (TypeError, OverflowError, ValueError) as exc:
        raise _unsupported(value, exc) from exc
    if len(packed) >= _NESTING_CHECKED_FROM and isinstance(value, _CONTAINERS):
        _check_nesting(value, packed)
    return FORMAT_VERSION + packed


def _check_nesting(value: Any, packed: bytes) -> None:
    """Raise :class:`CacheSerializationError` if msgpack's unpacker cannot rebuild ``packed``.

    msgpack's packer accepts one level of nesting more than its unpacker rebuilds (a chain of 1025
    lists packs; unpacking it raises StackError), so a value at the packer's very limit would be
    stored and then never read back. ``Unpacker.skip()`` walks the payload with the unpacker's own
    stack but builds nothing, so it fails exactly where :func:`loads` would, in C: the limit does
    not depend on the caller's stack. (Packing the value again inside a 1-tuple, one level tighter,
    would also do, but refuses some values that read back and costs more on large ones.)
    """
    unpacker = msgpack.Unpacker(max_buffer_size=len(packed))
    unpacker.feed(packed)
    try:
        unpacker.skip()
    except msgpack.StackError as exc:
        raise CacheSerializationError(_TOO_DEEP_MESSAGE.format(kind=type(value).__name__)) from exc


def _unsupported(value: Any, exc: Exception) -> CacheSerializationError:
    kind = type(value).__name__
    if _PACKER_TOO_DEEP in str(exc):
        return CacheSerializationError(_TOO_DEEP_MESSAGE.format(kind=kind))
    return CacheSerializationError(
        f"cannot cache a value of type {kind}: {exc} "
        "(supported: None, bool, int up to 64 bits, float, str, bytes, list, tuple, dict)"
    )


def check_size(payload: bytes, max_bytes: int) -> bytes:
    """Return ``payload`` if it is at most ``max_bytes`` long; else raise :class:`CacheSerializationError`."""
    if len(payload) > max_bytes:
        raise CacheSerializationError(
            f"value is {len(payload)} bytes serialized, over max_value_bytes={max_bytes}"
        )
    return payload


def loads(payload: bytes | str) -> Any:
    """Decode a payload written by :func:`dumps`; raise :class:`PayloadDecodeError` for anything else
    (a ``str`` reply included: it cannot start with the version byte)."""
    if payload[:1] != FORMAT_VERSION:
        if payload[:1] == LEASE_MARK:
            raise PendingValue("a value is being computed")
        raise PayloadDecodeError("unknown format version byte")
    # A copy past the version byte: cheaper than a memoryview for small payloads, and small next
    # to the decoding of large ones.
    data = payload[1:]
    try:
        return _unpackb(data, strict_map_key=False)  # raw=False is msgpack's default
    except TypeError:
        pass  # maybe a dict with tuple keys (below); else an error that the retry raises again
    except Exception as exc:  # msgpack raises several unrelated types for corrupt input
        raise PayloadDecodeError(str(exc)) from exc
    try:
        # A dict with tuple keys: msgpack reads the tuple back as an unhashable list. Only then pay
        # for a Python hook per map (keeping the common path in C) and turn such keys into tuples.
        return _unpackb(data, strict_map_key=False, object_pairs_hook=_dict_with_tuple_keys)
    except Exception as exc:
        raise PayloadDecodeError(str(exc)) from exc


def loads_present(keys: Sequence[K], payloads: Sequence[bytes | str | None]) -> dict[K, Any]:
    """``{key: value}`` for each payload that is not None (an MGET's reply); raise
    :class:`PayloadDecodeError` at the first payload that :func:`loads` would refuse."""
    found: dict[K, Any] = {}
    version, unpackb = FORMAT_VERSION, _unpackb
    for key, payload in zip(keys, payloads, strict=True):
        if payload is None:
            continue
        # loads() inlined for the common payload: a call per key is ~5% of a batch's time per key.
        if payload[:1] != version:
            found[key] = loads(payload)  # raises
            continue
        try:
            found[key] = unpackb(payload[1:], strict_map_key=False)
        except Exception:
            found[key] = loads(payload)  # tuple keys, or it tells what was wrong and raises
    return found


def _dict_with_tuple_keys(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    return {_hashable(key): value for key, value in pairs}


def _hashable(key: Any) -> Any:
    """``key`` with every list in it, at any depth, turned back into the tuple it was packed from.

    A loop over an explicit stack, not recursion: a tuple key nested as deeply as msgpack packs
    (~1000 levels) must read back whatever the caller's own stack depth, never hit the recursion
    limit and be taken for an undecodable payload.
    """
    if not isinstance(key, list):
        return key
    built: dict[int, tuple[Any, ...]] = {}  # id(list) -> its tuple, once all its items are built
    pending: list[tuple[list[Any], bool]] = [(key, False)]
    while pending:
        items, expanded = pending.pop()
        if expanded:
            built[id(items)] = tuple(built[id(item)] if isinstance(item, list) else item for item in items)
        else:
            pending.append((items, True))  # built after every list inside it, pushed below
            pending.extend((item, False) for item in items if isinstance(item, list))
    return built[id(key)]
