"""The in-process provider: per-entry TTL and LRU eviction from cachetools, safe across threads."""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import TLRUCache

from src.infrastructure.cache import serialization
from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.codec import PayloadCodec, StoredEntry, Timed
from src.infrastructure.cache.config.cache_config import MemoryCacheConfig
from src.infrastructure.cache.providers.memory.namespace_index import SPACE_MARK, NamespaceIndex, space_of
from src.infrastructure.cache.sentinels import MISSING
from src.infrastructure.cache.stats import CacheStats
from src.infrastructure.cache.validation import (
    check_key,
    check_keys,
    check_mapping,
    check_namespace,
    resolve_ttl,
)
from src.interfaces.llm.cache import CacheSerializationError

logger = logging.getLogger(__name__)


_dumps = serialization.dumps
_loads = serialization.loads
_NEVER = float("inf")


# What the cache holds per key: (stored value, ttl seconds). A tuple, not a small class: it is built
# on every set, and ``_time_to_use`` reads the TTL once when cachetools stores it.
_Entry = tuple[Any, float]


@dataclass(frozen=True, slots=True)
class _TimedValue:
    """A timed entry of compute-once as stored by reference (``serialize_values: false``)."""

    value: Any
    fresh_until: float  # on the provider's timer
    compute_seconds: float


def _time_to_use(_key: str, entry: _Entry, now: float) -> float:
    return now + entry[1] if entry[1] else _NEVER


_tlru_expire = TLRUCache.expire


class _CountingTLRUCache(TLRUCache[str, _Entry]):
    """TLRUCache that counts what it drops. Only ever called with the provider's lock held."""

    def __init__(self, maxsize: int, timer: Callable[[], float], stats: CacheStats) -> None:
        super().__init__(maxsize, ttu=_time_to_use, timer=timer)
        self._stats = stats

    def expire(self, time: float | None = None) -> list[tuple[str, _Entry]]:
        # Called on every set: the base method by direct reference, not through super() (~50 ns).
        expired: list[tuple[str, _Entry]] = _tlru_expire(self, time)
        if expired:
            self._stats.expirations += len(expired)
        return expired

    def popitem(self) -> tuple[str, _Entry]:
        item = super().popitem()  # expires first, so what is popped here is a live LRU victim
        self._stats.evictions += 1
        return item


class MemoryCacheProvider(CacheProviderBase):
    """TTL + LRU cache in this process.

    Values are stored as msgpack copies by default (``serialize_values``), so they behave exactly as
    on Redis: unsupported values fail at ``set`` and cached values are isolated from later mutation.

    Every operation holds one lock for an O(1) dictionary operation (O(n) for ``clear``,
    ``get_size`` and ``cleanup_expired``); serialization happens outside it. The async methods run
    inline: they never wait on I/O, only on another thread's O(1) critical section. The O(n) ones run
    in a worker thread so a large cache never stalls the event loop.

    ``timer`` (monotonic seconds) is injectable so tests can move time instead of sleeping.

    A namespace (:meth:`namespace`) is a view of the same store: its keys are stored under a space
    of their own (``namespace_index``), and an index of each namespace's entries makes its
    ``clear()`` cost only those entries.
    """

    name = "memory"
    reads_inline = True

    def __init__(
        self, config: MemoryCacheConfig | None = None, *, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or MemoryCacheConfig()
        super().__init__(self.config.compute)
        # One lock guards the cache and its counters, so each operation pays for a single acquire.
        self._lock = threading.Lock()
        self._stats = CacheStats(self._lock)
        self._cache = _CountingTLRUCache(self.config.max_size, timer, self._stats)
        self._default_ttl = self.config.default_ttl
        self._serialize = self.config.serialize_values
        self._max_value_bytes = self.config.max_value_bytes
        self._timer = timer
        self._codec = PayloadCodec(self._max_value_bytes, self._stats, clock=timer, provider=self.name)
        #: What this view's storage keys start with: "" for the cache, a space per namespace.
        self._space = ""
        self._index = NamespaceIndex()  # shared by every namespace view of this cache

    @property
    def default_ttl(self) -> float:
        return self._default_ttl

    def __repr__(self) -> str:
        where = f", namespace={'/'.join(self.path)!r}" if self.path else ""
        return f"MemoryCacheProvider(max_size={self.config.max_size}, default_ttl={self._default_ttl}{where})"

    def namespace(self, name: str) -> MemoryCacheProvider:
        path = (*self.path, check_namespace(name, len(self.path) + 1))
        view = copy.copy(self)  # the same store, lock, counters and index
        view.path, view._space = path, space_of(path)
        view._adopt_compute(self)
        return view

    # ---------------------------------------------------------------- encoding

    # Stored copies go through the shared codec (``codec``): the same payloads, limits and decode
    # policy as Redis. With ``serialize_values`` off, values are stored as they are, and a timed
    # entry of compute-once as a ``StoredEntry``.

    def _encode(self, value: Any) -> Any:
        if self._serialize:
            return self._codec.encode(value)
        if type(value) is Timed:
            fresh_until = self._timer() + value.fresh_for if value.fresh_for else float("inf")
            return _TimedValue(value.value, fresh_until, value.compute_seconds)
        return value

    def _decode(self, key: str, stored: Any) -> Any:
        """The value of an entry counted as a hit under the lock; ``MISSING`` (and the count moved
        to a miss) for a stale timed entry or an undecodable payload."""
        if self._serialize:
            value = self._codec.decode(key, stored)
        elif type(stored) is _TimedValue:
            value = stored.value if stored.fresh_until > self._timer() else MISSING
        else:
            return stored
        if value is MISSING:
            self._stats.record_lookups(hits=-1, misses=1)
        return value

    def _entry(self, key: str, stored: Any) -> StoredEntry | Any:
        if self._serialize:
            return self._codec.decode_entry(key, stored)
        if type(stored) is _TimedValue:
            return StoredEntry(stored.value, stored.fresh_until - self._timer(), stored.compute_seconds)
        return StoredEntry(stored, float("inf"), 0.0)

    # ---------------------------------------------------------------- single keys

    # get and set are the hot paths: each Python call saved is ~3% of an in-process operation, so
    # they inline the common case of _encode/_decode/resolve_ttl and call those for the rest.

    def get(self, key: str, default: Any = None) -> Any:
        check_key(key)
        stats = self._stats
        with self._lock:
            entry = self._cache.get(self._space + key)
            if entry is None:
                stats.misses += 1
                return default
            stats.hits += 1
        if self._serialize:
            try:
                return _loads(entry[0])
            except serialization.PayloadDecodeError:
                pass  # a timed entry, or not ours: _decode tells, and counts it
        elif type(entry[0]) is not _TimedValue:
            return entry[0]
        value = self._decode(key, entry[0])
        return default if value is MISSING else value

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        check_key(key)
        if self._serialize:
            try:
                stored = _dumps(value)
            except CacheSerializationError:
                stored = self._encode(value)  # a timed entry of compute-once; anything else raises
            if len(stored) > self._max_value_bytes:
                self._encode(value)  # raises, naming the size
        else:
            stored = self._encode(value) if type(value) is Timed else value
        entry = (stored, self._default_ttl if ttl is None else resolve_ttl(ttl, self._default_ttl))
        stored_key = self._space + key
        with self._lock:
            self._cache[stored_key] = entry
            self._stats.sets += 1
            if self._space:
                self._index.add_one(self.path, stored_key, self._cache)

    def delete(self, key: str) -> bool:
        return self.delete_many((check_key(key),)) == 1

    def exists(self, key: str) -> bool:
        check_key(key)
        with self._lock:
            return self._space + key in self._cache

    def get_entry(self, key: str) -> StoredEntry | Any:
        check_key(key)
        with self._lock:
            entry = self._cache.get(self._space + key)
        found = MISSING if entry is None else self._entry(key, entry[0])
        if found is MISSING or not found.fresh:
            self._stats.record_miss()  # a stale entry too: get would not return it
        else:
            self._stats.record_hit()
        return found

    # ---------------------------------------------------------------- batches

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        cache, space = self._cache, self._space
        with self._lock:
            entries = [(key, entry) for key in wanted if (entry := cache.get(space + key)) is not None]
            self._stats.hits += len(entries)
            self._stats.misses += len(wanted) - len(entries)
        found: dict[str, Any] = {}
        for key, entry in entries:
            if (value := self._decode(key, entry[0])) is not MISSING:
                found[key] = value
        return found

    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        check_mapping(mapping)
        seconds = resolve_ttl(ttl, self._default_ttl)
        space = self._space
        entries = [(space + check_key(key), (self._encode(value), seconds)) for key, value in mapping.items()]
        with self._lock:
            for stored_key, entry in entries:
                self._cache[stored_key] = entry
            self._stats.sets += len(entries)
            if space:
                self._index.add(self.path, (stored_key for stored_key, _ in entries), self._cache)

    def delete_many(self, keys: Iterable[str]) -> int:
        space = self._space
        doomed = [space + key for key in check_keys(keys)]
        with self._lock:
            self._cache.expire()  # an expired entry is not "removed" by delete: sweep it (and count it) first
            removed = sum(self._cache.pop(key, None) is not None for key in doomed)
            self._stats.deletes += removed
            if space:
                self._index.discard(self.path, doomed)
        return removed

    def check_write(self, values: Iterable[Any], ttl: float | None = None) -> None:
        resolve_ttl(ttl, self._default_ttl)
        for value in values:
            self._encode(value)

    # ---------------------------------------------------------------- whole cache

    def clear(self) -> int:
        """Remove this cache's entries, every namespace's included; or, on a namespace, its own
        entries and its children's, in time proportional to them (its index, no scan)."""
        with self._lock:
            self._cache.expire()
            if self._space:
                return sum(self._cache.pop(key, None) is not None for key in self._index.pop_tree(self.path))
            removed = len(self._cache)
            self._cache.clear()
            self._index.clear()
        return removed

    def get_size(self) -> int:
        """The entries ``get`` can return here: the cache's own (or namespace's own), not a
        namespace's (or child's). O(1) while no namespace was ever written; else O(n)."""
        with self._lock:
            self._cache.expire()
            if self._space:
                return self._index.count_own(self.path, self._cache)
            if not self._index:
                return len(self._cache)
            return sum(not key.startswith(SPACE_MARK) for key in self._cache)

    def cleanup_expired(self) -> int:
        """Purge expired entries now and return how many; expired entries are never served meanwhile."""
        with self._lock:
            return len(self._cache.expire())

    def get_stats(self) -> dict[str, Any]:
        with self._lock:
            self._cache.expire()
            size = len(self._cache)
        stats = self._stats.snapshot()
        return self._with_compute_stats(
            {"provider": self.name, **stats, "size": size, "max_size": self.config.max_size}
        )

    def health(self) -> dict[str, Any]:
        return {"provider": self.name, "healthy": True, "detail": "in-process"}

    def close(self) -> None:
        """Drop every entry (a namespace view: nothing, it holds nothing of its own). The provider
        stays usable (there is nothing else to release)."""
        if self._space:
            return
        with self._lock:
            self._cache.clear()
            self._index.clear()

    # ---------------------------------------------------------------- async twins

    async def get_async(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)

    async def get_entry_async(self, key: str) -> StoredEntry | Any:
        return self.get_entry(key)

    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.set(key, value, ttl)

    async def delete_async(self, key: str) -> bool:
        return self.delete(key)

    async def exists_async(self, key: str) -> bool:
        return self.exists(key)

    async def get_many_async(self, keys: Iterable[str]) -> dict[str, Any]:
        return self.get_many(keys)

    async def set_many_async(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        self.set_many(mapping, ttl)

    async def delete_many_async(self, keys: Iterable[str]) -> int:
        return self.delete_many(keys)

    async def clear_async(self) -> int:
        return await asyncio.to_thread(self.clear)

    async def get_size_async(self) -> int:
        return await asyncio.to_thread(self.get_size)

    async def aclose(self) -> None:
        self.close()
