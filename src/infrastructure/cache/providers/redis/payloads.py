"""Between values and Redis replies: encoding with the size limit, decoding with the hit/miss counts.

The provider moves bytes; this turns its callers' values into payloads (every one checked before
anything is sent) and the server's replies back into values, counting each lookup exactly once. A
reply that is not one of our payloads (written by another program) is a miss, logged and counted
as a ``decode`` error, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from src.infrastructure.cache import serialization
from src.infrastructure.cache.providers.redis.keyspace import KeySpace
from src.infrastructure.cache.stats import CacheStats
from src.infrastructure.cache.validation import check_keys, check_mapping

logger = logging.getLogger(__name__)

_MISSING = object()
_dumps = serialization.dumps
_loads = serialization.loads
#: What redis-py declares a GET reply to be. With ``decode_responses`` off (always, here) it is
#: ``bytes | None``; the declared type also allows ``str`` for clients that decode.
Reply = bytes | str | None


class PayloadCodec:
    """Encodes values and decodes replies for one provider, whose ``stats`` it keeps."""

    __slots__ = ("_keys", "_max_bytes", "_stats")

    def __init__(self, keys: KeySpace, max_value_bytes: int, stats: CacheStats) -> None:
        self._keys = keys
        self._max_bytes = max_value_bytes
        self._stats = stats

    def encode(self, value: Any) -> bytes:
        """The payload of ``value``; raise ``CacheSerializationError`` if unsupported or too large."""
        return self._checked(_dumps(value))

    def batch(self, mapping: Mapping[str, Any]) -> tuple[list[bytes], list[bytes]]:
        """Names and payloads of a batch: every key validated, every value encoded, nothing sent."""
        check_mapping(mapping)
        names = self._keys.names(check_keys(mapping))  # a mapping's keys are distinct already
        payloads = [_dumps(value) for value in mapping.values()]
        if payloads and max(map(len, payloads)) > self._max_bytes:
            for payload in payloads:  # name the first offender, as a single set() would
                self._checked(payload)
        return names, payloads

    def lookup(self, key: str, payload: Reply, default: Any) -> Any:
        """The value of a GET reply, or ``default``; counts one hit or one miss."""
        if payload is not None:
            try:
                value = _loads(payload)
            except serialization.PayloadDecodeError as exc:
                self._undecodable(key, exc)
            else:
                self._stats.record_hit()
                return value
        self._stats.record_miss()
        return default

    def found(self, keys: list[str], payloads: list[Reply]) -> dict[str, Any]:
        """``{key: value}`` of an MGET reply, misses left out; counts each key's hit or miss."""
        try:  # the common case, every payload ours: one tight loop
            found = serialization.loads_present(keys, payloads)
        except serialization.PayloadDecodeError:  # rare: redo key by key, so each bad one is a miss
            found = {}
            for key, payload in zip(keys, payloads, strict=True):
                if payload is not None and (value := self._decode(key, payload)) is not _MISSING:
                    found[key] = value
        self._stats.record_lookups(len(found), len(keys) - len(found))
        return found

    def value_of(self, key: str, payload: bytes | str, missing: Any) -> Any:
        """The value of one payload, or ``missing``; counts no lookup (for compute-once's leases)."""
        value = self._decode(key, payload)
        return missing if value is _MISSING else value

    def _decode(self, key: str, payload: bytes | str) -> Any:
        try:
            return _loads(payload)
        except serialization.PayloadDecodeError as exc:
            self._undecodable(key, exc)
            return _MISSING

    def _undecodable(self, key: str, exc: Exception) -> None:
        if isinstance(exc, serialization.PendingValue):
            return  # a compute-once lease: a miss, and not an error
        logger.warning("redis cache: undecodable value under key %r treated as a miss: %s", key, exc)
        self._stats.record_error("decode")

    def _checked(self, payload: bytes) -> bytes:
        return serialization.check_size(payload, self._max_bytes)
