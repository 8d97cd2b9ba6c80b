"""A Redis cache with a near cache in front: hot reads served from the process, never stale.

Where it sits: between the Redis provider and the failure policy -
``Metrics(Resilient(Near(Redis)))``. The failure policy above routes around it while the circuit is
open (the fallback serves then), and its replay of an outage's writes goes through it, dropping
those keys here too. The store watches the circuit itself and empties itself once it has opened
(see ``store``): nothing read before an outage is served after it.

What it guarantees (docs/near-cache.md has the whole story):

* An entry is served only while tracking is established, and never past its Redis TTL nor the
  near cache's ``ttl``. Another process's write, delete or clear is never served once its
  invalidation has arrived; a gap in invalidations empties the near cache and bypasses it until
  tracking is back.
* This process's own writes, deletes, clears and compute-once writes drop the entries they touch
  before they return, also when they fail (a failed write may have been applied).
* Values handed out are decoded from the payload on every hit: fresh objects, as from Redis.
* Only single-key reads (``get``, ``get_entry``) fill it; ``get_many`` serves what it holds and
  asks Redis for the rest in one MGET. A missing key is not remembered: reading it again asks
  Redis again.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from src.infrastructure.cache.codec import StoredEntry
from src.infrastructure.cache.compute.leases import Leases
from src.infrastructure.cache.near.leases import NearLeases
from src.infrastructure.cache.near.listener import InvalidationListener
from src.infrastructure.cache.near.store import Circuit, NearStore, Ticket
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.infrastructure.cache.providers.redis.tracking import TrackingConnection
from src.infrastructure.cache.providers.redis.transport import Reply
from src.infrastructure.cache.sentinels import MISSING
from src.infrastructure.cache.validation import check_keys, check_mapping
from src.infrastructure.cache.wrappers.forwarding import ForwardingCacheProvider


class NearCacheProvider(ForwardingCacheProvider):
    """``inner`` (a Redis cache) with the near cache ``store``, kept coherent by ``listener``.

    Build it with :meth:`over`. Namespace views share the store and the listener: one near cache,
    one invalidation connection, for the cache and all its namespaces.
    """

    def __init__(self, inner: RedisCacheProvider, store: NearStore, listener: InvalidationListener) -> None:
        super().__init__(inner)
        self._redis = inner
        self._source = inner.near_source()
        self._store = store
        self._listener = listener
        self._leases = NearLeases(inner.leases(), self._source, store)

    @classmethod
    def over(cls, inner: RedisCacheProvider, circuit: Circuit | None = None) -> NearCacheProvider:
        """A near cache over ``inner`` as its config's ``near_cache`` section says, emptied whenever
        ``circuit`` (the failure policy's breaker) opens."""
        settings = inner.config.near_cache
        store = NearStore(settings.max_size, settings.ttl, settings.max_value_bytes, circuit)
        source = inner.near_source()
        connect = partial(TrackingConnection, inner.config, source.tracked_prefix, settings.protocol)
        label = repr(inner.config.key_prefix)
        listener = InvalidationListener(store, connect, ping_interval=settings.ping_interval, label=label)
        return cls(inner, store, listener)

    def __repr__(self) -> str:
        return f"NearCacheProvider({self._redis!r})"

    def _through(self) -> RedisCacheProvider:
        """The cache itself, for a read the near cache does not answer (the listener is started
        if it is not running: a cache's first read starts it)."""
        self._listener.ensure_running()
        return self._redis

    # ---------------------------------------------------------------- reads

    def get(self, key: str, default: Any = None) -> Any:
        name = self._source.name(key)
        payload: Reply = self._store.get(name)
        if payload is None:
            ticket = self._store.begin(name)
            if ticket is None:
                return self._through().get(key, default)
            payload = self._fetch(name, ticket)
        return self._source.value(key, payload, default)

    def get_entry(self, key: str) -> StoredEntry | Any:
        name = self._source.name(key)
        payload: Reply = self._store.get(name)
        if payload is None:
            ticket = self._store.begin(name)
            if ticket is None:
                return self._through().get_entry(key)
            payload = self._fetch(name, ticket)
        return self._source.entry(key, payload)

    def exists(self, key: str) -> bool:
        return self._store.holds(self._source.name(key)) or self._through().exists(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        if not self._store.serving:
            return self._through().get_many(wanted)
        found, rest = self._held(wanted)
        if rest:
            found.update(self._redis.get_many(rest))
        return found

    def _fetch(self, name: bytes, ticket: Ticket) -> Reply:
        """Read ``name`` from Redis with its TTL and offer it to the store under ``ticket``."""
        try:
            payload, pttl = self._source.fetch(name)
        except BaseException:
            self._store.abandon(name, ticket)
            raise
        self._store.finish(name, ticket, payload, pttl)
        return payload

    def _held(self, keys: list[str]) -> tuple[dict[str, Any], list[str]]:
        """The values the store holds for ``keys`` (each counted as the cache's hit or miss), and
        the keys it holds nothing for."""
        found: dict[str, Any] = {}
        rest: list[str] = []
        for key, name in zip(keys, self._source.names(keys), strict=True):
            payload = self._store.get(name)
            if payload is None:
                rest.append(key)
            elif (value := self._source.value(key, payload, MISSING)) is not MISSING:
                found[key] = value
        return found, rest

    # ---------------------------------------------------------------- writes

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        name = self._source.name(key)
        try:
            self._redis.set(key, value, ttl)
        finally:
            self._store.drop((name,))

    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        items = check_mapping(mapping)
        names = self._source.names(check_keys(items))
        try:
            self._redis.set_many(items, ttl)
        finally:
            self._store.drop(names)

    def delete(self, key: str) -> bool:
        name = self._source.name(key)
        try:
            return self._redis.delete(key)
        finally:
            self._store.drop((name,))

    def delete_many(self, keys: Iterable[str]) -> int:
        wanted = check_keys(keys)
        try:
            return self._redis.delete_many(wanted)
        finally:
            self._store.drop(self._source.names(wanted))

    def clear(self) -> int:
        try:
            return self._redis.clear()
        finally:
            self._drop_scope()

    def _drop_scope(self) -> None:
        """Forget what a clear of this cache (or namespace, and the namespaces inside it) removed."""
        if self.path:
            self._store.drop_prefixed(self._source.scope)
        else:
            self._store.drop_all()

    # ---------------------------------------------------------------- async twins

    async def get_async(self, key: str, default: Any = None) -> Any:
        name = self._source.name(key)
        payload: Reply = self._store.get(name)
        if payload is None:
            ticket = self._store.begin(name)
            if ticket is None:
                return await self._through().get_async(key, default)
            payload = await self._fetch_async(name, ticket)
        return self._source.value(key, payload, default)

    async def get_entry_async(self, key: str) -> StoredEntry | Any:
        name = self._source.name(key)
        payload: Reply = self._store.get(name)
        if payload is None:
            ticket = self._store.begin(name)
            if ticket is None:
                return await self._through().get_entry_async(key)
            payload = await self._fetch_async(name, ticket)
        return self._source.entry(key, payload)

    async def exists_async(self, key: str) -> bool:
        return self._store.holds(self._source.name(key)) or await self._through().exists_async(key)

    async def get_many_async(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        if not self._store.serving:
            return await self._through().get_many_async(wanted)
        found, rest = self._held(wanted)
        if rest:
            found.update(await self._redis.get_many_async(rest))
        return found

    async def _fetch_async(self, name: bytes, ticket: Ticket) -> Reply:
        try:
            payload, pttl = await self._source.fetch_async(name)
        except BaseException:
            self._store.abandon(name, ticket)
            raise
        self._store.finish(name, ticket, payload, pttl)
        return payload

    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None:
        name = self._source.name(key)
        try:
            await self._redis.set_async(key, value, ttl)
        finally:
            self._store.drop((name,))

    async def set_many_async(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        items = check_mapping(mapping)
        names = self._source.names(check_keys(items))
        try:
            await self._redis.set_many_async(items, ttl)
        finally:
            self._store.drop(names)

    async def delete_async(self, key: str) -> bool:
        name = self._source.name(key)
        try:
            return await self._redis.delete_async(key)
        finally:
            self._store.drop((name,))

    async def delete_many_async(self, keys: Iterable[str]) -> int:
        wanted = check_keys(keys)
        try:
            return await self._redis.delete_many_async(wanted)
        finally:
            self._store.drop(self._source.names(wanted))

    async def clear_async(self) -> int:
        try:
            return await self._redis.clear_async()
        finally:
            self._drop_scope()

    # ---------------------------------------------------------------- state and lifetime

    def namespace(self, name: str) -> NearCacheProvider:
        """The namespace ``name`` of the Redis cache, through this near cache (same store and
        listener; its names are under the tracked prefix too)."""
        view = copy.copy(self)
        view._redis = self._redis.namespace(name)
        view.inner = view._redis
        view.path = view._redis.path
        view._source = view._redis.near_source()
        view._leases = NearLeases(view._redis.leases(), view._source, self._store)
        view._adopt_compute(self)
        return view

    def leases(self) -> Leases | None:
        return self._leases

    def get_stats(self) -> dict[str, Any]:
        """The cache's stats (its ``hits`` include the near cache's), plus ``near``: hits,
        misses, invalidations received, flushes, size, max_size and whether it is serving."""
        stats = super().get_stats()
        stats["near"] = self._store.snapshot()
        return stats

    def health(self) -> dict[str, Any]:
        """The cache's health, plus ``near``: ``serving`` or ``bypassed`` (no effect on ``healthy``:
        a bypassed near cache still answers, from Redis)."""
        report = self._redis.health()
        report["near"] = "serving" if self._store.serving else "bypassed"
        return report

    def close(self) -> None:
        """Stop the invalidation listener (the cache itself, not a namespace view), then close the
        cache. Usable afterwards: a later read starts a new listener."""
        if not self.path:
            self._listener.stop()
        self._redis.close()

    async def aclose(self) -> None:
        if not self.path:
            self._listener.stop()
        await self._redis.aclose()
