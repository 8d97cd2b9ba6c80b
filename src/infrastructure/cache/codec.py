"""Between callers' values and stored payloads, for every provider: one encoding, one decode policy.

A provider moves payloads (Redis bytes, the memory provider's stored copies); this turns values into
payloads - every one checked against ``max_value_bytes`` before anything is written - and payloads
back into values. The decode policy, the same everywhere:

* our payload: its value;
* a compute-once lease (``LEASE_MARK``): a miss, silently - a value is being computed;
* a timed entry (``get_or_set`` with stale serving or XFetch) past its freshness: a miss for ``get``,
  a stale entry for ``get_entry``;
* anything else (another program's bytes, a pickle): a miss, logged with its key and counted as a
  ``decode`` error - never an exception, never unpickled.

Timed entries are written as ``TIMED_FORMAT``, then ``fresh_until`` and ``compute_seconds`` as two
big-endian doubles, then the value's ordinary payload. ``fresh_until`` is a reading of the provider's
clock (wall time for Redis, shared by processes; the memory provider's own timer). Plain payloads
carry no such header, so the common path costs nothing: timed entries take the slow path of
decoding, which only they pay.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from src.infrastructure.cache import serialization
from src.infrastructure.cache.sentinels import MISSING
from src.infrastructure.cache.stats import CacheStats
from src.infrastructure.cache.validation import check_keys, check_mapping
from src.interfaces.llm.cache import CacheSerializationError

logger = logging.getLogger(__name__)

Name = TypeVar("Name")
#: What a provider reads back: bytes (Redis replies, stored copies), or None for an absent key.
Payload = bytes | str | None
#: First byte of a timed entry, and its header after that byte: fresh_until, compute_seconds.
TIMED_FORMAT: Final = b"\x02"
_TIMED_HEADER = struct.Struct(">dd")
_TIMED_BODY = 1 + _TIMED_HEADER.size

_dumps = serialization.dumps
_loads = serialization.loads


@dataclass(frozen=True, slots=True)
class Timed:
    """A value to store with its freshness: what ``get_or_set`` writes for stale serving and XFetch.

    ``fresh_for``: seconds the value is fresh (the entry's TTL as the caller asked for it; the
    physical TTL adds the stale window). ``compute_seconds``: how long computing it took.
    """

    value: Any
    fresh_for: float
    compute_seconds: float


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A value as ``get_entry`` reads it: ``fresh_for``, the seconds it stays fresh from the
    moment it was read (infinite for an entry written without freshness; 0 or less: stale), and
    ``compute_seconds``, how long computing it took (0 when unknown)."""

    value: Any
    fresh_for: float
    compute_seconds: float

    @property
    def fresh(self) -> bool:
        return self.fresh_for > 0


class PayloadCodec:
    """Encodes values and decodes payloads for one provider, whose ``stats`` it keeps.

    ``clock`` is the provider's clock for timed entries.
    """

    __slots__ = ("_clock", "_max_bytes", "_provider", "_stats")

    def __init__(
        self,
        max_value_bytes: int,
        stats: CacheStats,
        *,
        clock: Callable[[], float],
        provider: str,
    ) -> None:
        self._max_bytes = max_value_bytes
        self._stats = stats
        self._clock = clock
        self._provider = provider

    # ---------------------------------------------------------------- encoding

    def encode(self, value: Any) -> bytes:
        """The payload of ``value``; raise ``CacheSerializationError`` if unsupported or too large."""
        try:
            payload = _dumps(value)
        except CacheSerializationError:
            if type(value) is not Timed:
                raise
            payload = self._timed(value)
        return serialization.check_size(payload, self._max_bytes)

    def encode_all(self, values: Iterable[Any]) -> list[bytes]:
        """Payloads of ``values``, every one encoded and checked before any is returned."""
        payloads = [self.encode(value) if type(value) is Timed else _dumps(value) for value in values]
        if payloads and max(map(len, payloads)) > self._max_bytes:
            for payload in payloads:  # name the first offender, as a single set() would
                serialization.check_size(payload, self._max_bytes)
        return payloads

    def batch(
        self, mapping: Mapping[str, Any], names: Callable[[list[str]], list[Name]]
    ) -> tuple[list[Name], list[bytes]]:
        """Names (``names`` of the keys) and payloads of a ``set_many``: every key validated, every
        value encoded, nothing written."""
        check_mapping(mapping)
        return names(check_keys(mapping)), self.encode_all(mapping.values())

    def _timed(self, timed: Timed) -> bytes:
        fresh_until = self._clock() + timed.fresh_for if timed.fresh_for else float("inf")
        header = _TIMED_HEADER.pack(fresh_until, timed.compute_seconds)
        return TIMED_FORMAT + header + _dumps(timed.value)

    # ---------------------------------------------------------------- decoding

    def decode(self, key: str, payload: bytes | str) -> Any:
        """The value of ``payload``, or ``MISSING`` (see the module's policy). Counts no lookup."""
        try:
            return _loads(payload)
        except serialization.PayloadDecodeError as exc:
            entry = self._entry_or_miss(key, payload, exc)
            return entry.value if entry is not MISSING and entry.fresh else MISSING

    def decode_entry(self, key: str, payload: bytes | str) -> StoredEntry | Any:
        """``payload`` as a :class:`StoredEntry` (stale or not), or ``MISSING``. Counts no lookup."""
        try:
            return StoredEntry(_loads(payload), float("inf"), 0.0)
        except serialization.PayloadDecodeError as exc:
            return self._entry_or_miss(key, payload, exc)

    def lookup(self, key: str, payload: Payload, default: Any) -> Any:
        """The value of a GET reply, or ``default``; counts one hit or one miss."""
        if payload is None:
            value = MISSING
        else:
            try:  # the common case inline (a plain payload of ours): every get comes through here
                value = _loads(payload)
            except serialization.PayloadDecodeError:
                value = self.decode(key, payload)
        if value is MISSING:
            self._stats.record_miss()
            return default
        self._stats.record_hit()
        return value

    def entry(self, key: str, payload: Payload) -> StoredEntry | Any:
        """A GET reply as a :class:`StoredEntry` (stale or not), or ``MISSING``; counts one lookup
        (a stale entry counts as a miss: ``get`` would not return it)."""
        entry = MISSING if payload is None else self.decode_entry(key, payload)
        if entry is MISSING or not entry.fresh:
            self._stats.record_miss()
        else:
            self._stats.record_hit()
        return entry

    def found(self, keys: Sequence[str], payloads: Sequence[Payload]) -> dict[str, Any]:
        """``{key: value}`` of an MGET reply, misses left out; counts each key's hit or miss."""
        try:  # the common case, every payload a plain one of ours: one tight loop
            found = serialization.loads_present(keys, payloads)
        except serialization.PayloadDecodeError:  # rare: redo key by key, so each odd one is a miss
            found = {}
            for key, payload in zip(keys, payloads, strict=True):
                if payload is not None and (value := self.decode(key, payload)) is not MISSING:
                    found[key] = value
        self._stats.record_lookups(len(found), len(keys) - len(found))
        return found

    def value_of(self, key: str, payload: bytes | str, missing: Any) -> Any:
        """The value of one payload, or ``missing``; counts no lookup (compute-once's leases)."""
        value = self.decode(key, payload)
        return missing if value is MISSING else value

    def _entry_or_miss(self, key: str, payload: bytes | str, exc: Exception) -> StoredEntry | Any:
        """A payload ``loads`` refused: a timed entry, a silent miss (a lease), or a counted one."""
        if payload[:1] == TIMED_FORMAT and isinstance(payload, bytes) and len(payload) > _TIMED_BODY:
            try:
                fresh_until, compute_seconds = _TIMED_HEADER.unpack_from(payload, 1)
                value = _loads(payload[_TIMED_BODY:])
                return StoredEntry(value, fresh_until - self._clock(), compute_seconds)
            except serialization.PayloadDecodeError as bad:
                exc = bad
        if not isinstance(exc, serialization.PendingValue):
            logger.warning(
                "%s cache: undecodable value under key %r treated as a miss: %s", self._provider, key, exc
            )
            self._stats.record_error("decode")
        return MISSING
