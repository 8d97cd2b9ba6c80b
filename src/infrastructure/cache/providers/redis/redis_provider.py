"""The shared provider: entries live in Redis under ``key_prefix``, reached through redis-py."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from redis.utils import HIREDIS_AVAILABLE

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.codec import PayloadCodec, StoredEntry
from src.infrastructure.cache.compute.leases import MISSING
from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis import topology
from src.infrastructure.cache.providers.redis.client_factory import server_label
from src.infrastructure.cache.providers.redis.connections import (
    ConnectionShare,
    RedisConnections,
    connection_key,
)
from src.infrastructure.cache.providers.redis.errors import BACKEND_ERRORS, error_kind, translate
from src.infrastructure.cache.providers.redis.keyspace import KeySpace
from src.infrastructure.cache.providers.redis.leases import RedisLeases
from src.infrastructure.cache.providers.redis.near_source import NearSource
from src.infrastructure.cache.serialization import LEASE_MARK
from src.infrastructure.cache.stats import CacheStats
from src.infrastructure.cache.validation import check_key, check_keys, check_namespace, resolve_ttl
from src.interfaces.llm.cache import CacheError

logger = logging.getLogger(__name__)


_LONGEST_INT_TTL = 10**9


def _holds_value(first_byte: bytes | str) -> bool:
    """Whether a key whose first byte is ``first_byte`` holds an entry: not absent (``b""``), and
    not a compute-once lease (a value being computed is not there yet)."""
    return bool(first_byte) and first_byte != LEASE_MARK


def _milliseconds(seconds: float) -> int | None:
    """``seconds`` as the ``PX`` of a SET, or None (no expiry) for 0."""
    # round, not int(): 1.005 s is 1004.999... ms in binary floating point.
    return max(1, round(seconds * 1000)) if seconds else None


class RedisCacheProvider(CacheProviderBase):
    """A cache shared by every process that uses the same server, database and ``key_prefix``.

    Each entry is one Redis string holding the msgpack payload, written with its TTL in a single
    ``SET ... PX`` so a value never exists without its expiry. Batches are one round trip (MGET,
    one script call of SETs - see ``batch_writes`` -, UNLINK). Redis expires entries itself.
    Concurrent ``get_async``/``set_async`` calls of one event loop share those batch commands
    (see ``coalescing``).

    The provider talks to Redis through transports (``transport``), whose kind ``mode`` picks once
    (``client_factory``): one server, the master Sentinel names, or a Redis Cluster, where batches
    go slot by slot in one round trip per node (``cluster_client``) and ``clear``/``get_size`` sweep
    every primary. The provider's code is the same for all three.

    Constructing the provider opens no connection: the pools dial on first use. Sync methods share
    one thread-safe blocking pool; async methods use one pool per event loop (``loop_transports``).
    Those pools are the provider's own, or shared with other caches of the same connection settings
    when ``connections`` is a share from a ``ConnectionRegistry`` (see ``connections``: closing this
    provider then closes nothing another cache still uses). Every failure to reach Redis in time
    surfaces as ``CacheUnavailableError`` within the configured socket timeouts, pool timeout and
    retries.
    """

    name = "redis"

    def __init__(self, config: RedisCacheConfig, connections: ConnectionShare | None = None) -> None:
        """``connections``: a share of connections built for ``config``'s connection settings (from
        ``ConnectionRegistry.acquire(config)``), which this provider gives up on ``close()``;
        without one the provider makes connections of its own."""
        if connections is None:
            connections = RedisConnections(config).share()
        elif connections.connections.key != connection_key(config):
            raise ValueError(
                "connections: this share was built for other connection settings than this cache's "
                "config (address, credentials, TLS, mode, timeouts or pool); acquire it for this "
                "config: ConnectionRegistry.acquire(config)"
            )
        self.config = config
        super().__init__(config.compute)
        self._stats = CacheStats()
        self._keys = KeySpace(config.namespace_prefix)
        self._default_ttl = config.default_ttl
        self._default_px = _milliseconds(resolve_ttl(None, config.default_ttl))
        self._server = server_label(config)
        self._share = connections
        self._transport = connections.connections.sync
        self._loops = connections.connections.loops
        # Wall-clock time for timed entries: every process sharing the namespace reads the same.
        self._codec = PayloadCodec(config.max_value_bytes, self._stats, clock=time.time, provider=self.name)
        self._db = config.database
        self._leases = RedisLeases(
            transport=self._transport,
            async_transport=self._loops.current,
            name=self._keys.name,
            indexes=self._keys.indexes,
            encode=self._codec.encode,
            decode=partial(self._codec.value_of, missing=MISSING),
            px=self._px,
            failure=self._failure,
        )

    @property
    def default_ttl(self) -> float:
        return self._default_ttl

    def __repr__(self) -> str:
        return f"RedisCacheProvider(server={self._server!r}, db={self._db}, key_prefix={self._keys.prefix!r})"

    # ---------------------------------------------------------------- helpers

    def _px(self, ttl: float | None) -> int | None:
        """The TTL in milliseconds for ``SET ... PX``, or None for no expiry."""
        if ttl is None:
            return self._default_px
        if type(ttl) is int and 0 < ttl < _LONGEST_INT_TTL:  # whole seconds, the common case: exact
            return ttl * 1000
        return _milliseconds(resolve_ttl(ttl, self._default_ttl))

    def namespace(self, name: str) -> RedisCacheProvider:
        """A view of this cache (or namespace) scoped to ``name``: see ``redis_namespace``."""
        # Imported here: the view subclasses this class, so its module imports this one.
        from src.infrastructure.cache.providers.redis.redis_namespace import RedisNamespace  # noqa: PLC0415

        return RedisNamespace(self, self._keys.child(check_namespace(name, len(self.path) + 1)))

    def leases(self) -> RedisLeases:
        """Compute-once's leases, kept in the data keys (see ``leases``)."""
        return self._leases

    def near_source(self) -> NearSource:
        """What a near cache in front of this cache (or namespace) reads through (``near_source``)."""
        return NearSource(
            self.config,
            keys=self._keys,
            transport=self._transport,
            async_transport=self._loops.current,
            codec=self._codec,
            failure=self._failure,
        )

    def _failure(self, exc: Exception, operation: str) -> CacheError:
        self._stats.record_error(error_kind(exc))
        return translate(exc, operation, self._server)

    # ---------------------------------------------------------------- single keys

    def get(self, key: str, default: Any = None) -> Any:
        name = self._keys.name(check_key(key))
        try:
            payload = self._transport.get(name)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GET") from exc
        return self._codec.lookup(key, payload, default)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        name = self._keys.name(check_key(key))
        payload = self._codec.encode(value)
        px = self._px(ttl)
        try:
            self._transport.set(name, payload, px=px)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "SET") from exc
        self._stats.record_sets()

    def delete(self, key: str) -> bool:
        return self.delete_many((check_key(key),)) == 1

    def get_entry(self, key: str) -> StoredEntry | Any:
        name = self._keys.name(check_key(key))
        try:
            payload = self._transport.get(name)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GET") from exc
        return self._codec.entry(key, payload)

    def exists(self, key: str) -> bool:
        name = self._keys.name(check_key(key))
        try:
            first_byte = self._transport.getrange(name, 0, 0)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GETRANGE") from exc
        return _holds_value(first_byte)

    # ---------------------------------------------------------------- batches

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        if not wanted:
            return {}
        try:
            payloads = self._transport.mget(self._keys.names(wanted))
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "MGET") from exc
        return self._codec.found(wanted, payloads)

    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        px = self._px(ttl)
        names, payloads = self._codec.batch(mapping, self._keys.names)
        if not names:
            return
        try:
            self._transport.write_batch(names, payloads, [px] * len(names))
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "SET batch") from exc
        self._stats.record_sets(len(names))

    def delete_many(self, keys: Iterable[str]) -> int:
        names = self._keys.names(check_keys(keys))
        if not names:
            return 0
        try:
            removed: int = self._transport.unlink(*names)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "UNLINK") from exc
        self._stats.record_deletes(removed)
        return removed

    def check_write(self, values: Iterable[Any], ttl: float | None = None) -> None:
        self._px(ttl)
        for value in values:
            self._codec.encode(value)

    # ---------------------------------------------------------------- whole cache

    def clear(self) -> int:
        """Remove every key under ``key_prefix`` (SCAN + UNLINK by page, never FLUSHDB or KEYS)."""
        try:
            return self._keys.remove_all(self._transport)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "clear (SCAN/UNLINK)") from exc

    def get_size(self) -> int:
        """Count the keys under ``key_prefix`` with SCAN: O(n), meant for diagnostics."""
        try:
            return self._keys.count(self._transport)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "get_size (SCAN)") from exc

    def cleanup_expired(self) -> int:
        """Return 0: Redis expires keys itself (lazily on access and by its active expiry cycle)."""
        return 0

    def get_stats(self) -> dict[str, Any]:
        """Counters, ``server`` (password masked), ``db``, ``key_prefix``, pool occupancy,
        ``connections_shared_by`` (the caches holding these pools, this one included while it has
        not closed), ``mode``, and for a cluster or sentinel the ``topology`` as the servers
        report it now."""
        in_use, idle = self._transport.pool_usage()
        loops, async_in_use, async_idle = self._loops.pool_usage()
        return self._with_compute_stats(
            {
                "provider": self.name,
                **self._stats.snapshot(),
                "server": self._server,
                "db": self._db,
                "key_prefix": self._keys.prefix,
                "parser": "hiredis" if HIREDIS_AVAILABLE else "python",
                "pool": {
                    "max_connections": self.config.connection_pool.max_connections,
                    "in_use": in_use,
                    "idle": idle,
                },
                "async_pools": {"event_loops": loops, "in_use": async_in_use, "idle": async_idle},
                "connections_shared_by": self._share.connections.holders,
                "mode": self.config.mode,
                **topology.describe(self._transport, self.config.mode, self._server),
            }
        )

    def health(self) -> dict[str, Any]:
        """PING now, within the configured timeouts; an unreachable server is ``healthy: False``.

        A cluster or sentinel setup adds its ``topology``; a cluster whose state is not ``ok``
        (a slot without a primary) is not healthy."""
        started = time.perf_counter()
        try:
            self._transport.ping()
        except BACKEND_ERRORS as exc:
            healthy, detail = False, str(translate(exc, "PING", self._server))
        else:
            healthy, detail = True, f"PONG in {(time.perf_counter() - started) * 1000:.1f} ms"
        report = {"provider": self.name, "healthy": healthy, "detail": detail, "server": self._server}
        if healthy:
            report.update(topology.describe(self._transport, self.config.mode, self._server))
            report["healthy"] = topology.serving(report)
        return report

    def close(self) -> None:
        """Give up this provider's share of its connections; if no other cache holds them, close
        the sync pool's connections, and the async pools' that can be closed without awaiting.

        Other threads and tasks may go on calling meanwhile: a connection in use is closed when its
        call returns it, never under it (see ``pools``), so a call racing ``close()`` completes. An
        async pool of this thread's loop, or of a loop not running now, is closed by ``aclose()``
        on that loop or when that loop shuts down. The provider stays usable: a later call opens
        new connections (or uses those the other caches keep open).
        """
        self._share.close()

    # ---------------------------------------------------------------- async twins

    async def get_async(self, key: str, default: Any = None) -> Any:
        name = self._keys.name(check_key(key))
        coalescer = await self._loops.coalescer()
        try:
            payload = await coalescer.get(name)  # a GET, or part of an MGET with concurrent calls
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GET") from exc
        return self._codec.lookup(key, payload, default)

    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None:
        name = self._keys.name(check_key(key))
        payload = self._codec.encode(value)
        px = self._px(ttl)
        coalescer = await self._loops.coalescer()
        try:
            await coalescer.set(name, payload, px)  # a SET, or part of one batch with concurrent calls
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "SET") from exc
        self._stats.record_sets()

    async def delete_async(self, key: str) -> bool:
        return await self.delete_many_async((check_key(key),)) == 1

    async def get_entry_async(self, key: str) -> StoredEntry | Any:
        name = self._keys.name(check_key(key))
        transport = await self._loops.current()
        try:
            payload = await transport.get(name)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GET") from exc
        return self._codec.entry(key, payload)

    async def exists_async(self, key: str) -> bool:
        name = self._keys.name(check_key(key))
        transport = await self._loops.current()
        try:
            first_byte = await transport.getrange(name, 0, 0)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GETRANGE") from exc
        return _holds_value(first_byte)

    async def get_many_async(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        if not wanted:
            return {}
        transport = await self._loops.current()
        try:
            payloads = await transport.mget(self._keys.names(wanted))
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "MGET") from exc
        return self._codec.found(wanted, payloads)

    async def set_many_async(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        px = self._px(ttl)
        names, payloads = self._codec.batch(mapping, self._keys.names)
        if not names:
            return
        transport = await self._loops.current()
        try:
            await transport.write_batch(names, payloads, [px] * len(names))
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "SET batch") from exc
        self._stats.record_sets(len(names))

    async def delete_many_async(self, keys: Iterable[str]) -> int:
        names = self._keys.names(check_keys(keys))
        if not names:
            return 0
        transport = await self._loops.current()
        try:
            removed: int = await transport.unlink(*names)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "UNLINK") from exc
        self._stats.record_deletes(removed)
        return removed

    async def clear_async(self) -> int:
        transport = await self._loops.current()
        try:
            return await self._keys.remove_all_async(transport)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "clear (SCAN/UNLINK)") from exc

    async def get_size_async(self) -> int:
        transport = await self._loops.current()
        try:
            return await self._keys.count_async(transport)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "get_size (SCAN)") from exc

    async def aclose(self) -> None:
        """Give up this provider's share of its connections; if no other cache holds them, close
        this event loop's connections, then everything ``close()`` closes (the sync pool's, and
        those of loops running in other threads). The provider stays usable."""
        await self._share.aclose()
