"""The transports of a Redis Cluster: redis-py's cluster clients behind ``transport``'s interface.

The provider talks to one transport whatever the mode; for a Redis Cluster it is a
:class:`ClusterTransport` (sync) or an :class:`AsyncClusterTransport`. Routing is redis-py's own:
``RedisCluster`` sends each key to the primary of its hash slot, follows MOVED/ASK redirections and
refreshes its map of the cluster after a failure. This module adds four things:

* **Batches by slot.** ``mget`` is redis-py's ``mget_nonatomic`` (one MGET per hash slot),
  ``unlink`` splits by slot the same way and ``write_batch`` sends its SETs through the cluster
  pipeline (never a script: a batch's keys span slots); each of these is one pipeline per node,
  written to every node before any reply is read. A batch of 100 keys is so one round trip per
  primary, and never a CROSSSLOT error. ``scan_pages`` sweeps every primary in turn, and
  ``run_script`` runs a single-key script on its key's node.
* **Errors only a cluster raises** (``CLUSTERDOWN`` during a failover, ``TRYAGAIN``, no reachable
  node, a slot not covered) become redis ``ConnectionError``: ``errors.translate`` then reports
  them as the unavailability they are, and the failure policy applies. Some of them
  (``RedisClusterException``) are not even ``RedisError``s. A node that is not in cluster mode is
  a misconfiguration instead: a ``ResponseError``, so a ``CacheError`` that reaches the caller.
* **The pool's wait.** redis-py's per-node cluster pools fail at once when full; a caller here
  waits up to ``connection_pool.timeout`` for one of ``max_connections`` call slots instead, as
  with the blocking pool of the other modes. A call holds at most one connection per node, so no
  node pool overflows.
* **A lazy sync client.** The sync ``RedisCluster`` dials the cluster in its constructor; it is built
  on first use instead, so a provider can be built, and report itself down, while the cluster is.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, cast

import redis
import redis.asyncio.cluster as async_cluster
import redis.cluster as sync_cluster
from redis.exceptions import (
    ClusterError,
    MaxConnectionsError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from src.infrastructure.cache.providers.redis import topology
from src.infrastructure.cache.providers.redis.pools import aclose_cluster_nodes, close_node_pools, pool_counts
from src.infrastructure.cache.providers.redis.transport import Reply

#: What only a cluster raises, and means "cannot serve this key now" (ClusterDownError and
#: MasterDownError are ClusterErrors; SlotNotCoveredError is a RedisClusterException).
CLUSTER_ERRORS: tuple[type[Exception], ...] = (ClusterError, RedisClusterException, TryAgainError)

#: One SCAN reply aimed at one node: redis-py's cluster SCAN returns ``({node name: cursor}, names)``.
_ScanReply = tuple[dict[str, int], list[bytes]]


def translated(exc: Exception) -> RedisError:
    """The redis error to raise ``from exc`` for a cluster-only error: a ``ConnectionError`` (the
    cluster cannot serve now), or a ``ResponseError`` when the node is no cluster at all - a
    misconfiguration, which no failure policy should hide behind a fallback."""
    if "Cluster mode is not enabled" in str(exc):
        return ResponseError(f"mode is 'cluster' but the server is not in cluster mode: {exc}")
    return RedisConnectionError(f"cluster unavailable: {type(exc).__name__}: {exc}")


def _no_slot(timeout: float) -> MaxConnectionsError:
    return MaxConnectionsError(f"No connection available within the pool timeout ({timeout} s)")


class ClusterTransport:
    """A :class:`~.transport.SyncTransport` over a sync ``RedisCluster``, built on first use."""

    def __init__(
        self, factory: Callable[[], sync_cluster.RedisCluster], max_connections: int, timeout: float
    ) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._cluster: sync_cluster.RedisCluster | None = None
        self._slots = threading.BoundedSemaphore(max_connections)
        self._timeout = timeout
        self._scripts: dict[str, Any] = {}  # source -> redis-py Script, registered on first use

    def cluster(self) -> sync_cluster.RedisCluster:
        """redis-py's client, built on first use (which discovers the cluster: round trips)."""
        cluster = self._cluster
        if cluster is None:
            with self._lock:
                if self._cluster is None:
                    try:
                        self._cluster = self._factory()
                    except CLUSTER_ERRORS as exc:
                        raise translated(exc) from exc
                cluster = self._cluster
        return cluster

    @contextmanager
    def _call(self) -> Iterator[sync_cluster.RedisCluster]:
        """The client for one call, within a call slot, with cluster-only errors translated."""
        if not self._slots.acquire(timeout=self._timeout):
            raise _no_slot(self._timeout)
        try:
            yield self.cluster()
        except CLUSTER_ERRORS as exc:
            raise translated(exc) from exc
        finally:
            self._slots.release()

    def get(self, name: bytes) -> Reply:
        with self._call() as cluster:
            return cluster.get(name)

    def set(self, name: bytes, value: bytes, *, px: int | None = None) -> Any:
        with self._call() as cluster:
            return cluster.set(name, value, px=px)

    def getrange(self, name: bytes, start: int, end: int) -> bytes | str:
        with self._call() as cluster:
            return cast(bytes, cluster.getrange(name, start, end))

    def get_with_pttl(self, name: bytes) -> tuple[Reply, int]:
        """GET and PTTL through the cluster pipeline: one round trip to the key's node."""
        with self._call() as cluster:
            pipe = cluster.pipeline()  # type: ignore[no-untyped-call]
            pipe.get(name)
            pipe.pttl(name)
            payload, pttl = pipe.execute()
            return payload, pttl

    def mget(self, names: list[bytes]) -> list[Reply]:
        """One MGET per hash slot, pipelined per node; values in the order of ``names``."""
        with self._call() as cluster:
            return cast(list[Reply], cluster.mget_nonatomic(names))

    def unlink(self, *names: bytes) -> int:
        """One UNLINK per hash slot, pipelined per node; returns how many keys were removed."""
        with self._call() as cluster:
            return cluster.unlink(*names)

    def write_batch(
        self, names: Sequence[bytes], payloads: Sequence[bytes], pxs: Sequence[int | None]
    ) -> None:
        """The SETs as one cluster pipeline (one round trip per node); never a transaction."""
        with self._call() as cluster:
            pipe = cluster.pipeline()  # type: ignore[no-untyped-call]
            for name, payload, px in zip(names, payloads, pxs, strict=True):
                pipe.set(name, payload, px=px)
            pipe.execute()

    def run_script(self, source: str, keys: Sequence[bytes], args: Sequence[Any]) -> Any:
        """The script on the node of ``key``'s slot (redis-py's cluster ``Script``, which routes its
        EVALSHA by the first key), within one call slot."""
        with self._call() as cluster:
            script = self._scripts.get(source)
            if script is None:
                script = self._scripts[source] = cluster.register_script(source)
            return script(keys=keys, args=args, client=cluster)

    def scan_pages(self, match: bytes, count: int) -> Iterator[list[bytes]]:
        """Pages of ``SCAN MATCH`` over every primary in turn (replicas hold only copies)."""
        with self._call() as cluster:
            primaries = cluster.get_primaries()  # type: ignore[no-untyped-call]
        for node in primaries:
            cursor = 0
            while True:
                with self._call() as cluster:
                    reply = cluster.scan(cursor, match=match, count=count, target_nodes=node)
                cursors, names = cast(_ScanReply, reply)
                cursor = cursors[node.name]
                yield names
                if not cursor:
                    break

    def ping(self) -> bool:
        """PING every node redis-py routes to."""
        with self._call() as cluster:
            return bool(cluster.ping())

    def node_pools(self) -> list[redis.ConnectionPool]:
        """The connection pool of every node redis-py knows; none before the first call."""
        nodes = self._cluster.get_nodes() if self._cluster is not None else []  # type: ignore[no-untyped-call]
        return [node.redis_connection.connection_pool for node in nodes if node.redis_connection is not None]

    def pool_usage(self) -> tuple[int, int]:
        """``(in use, idle)`` connections over every node's pool."""
        used = idle = 0
        for pool in self.node_pools():
            node_used, node_idle = pool_counts(pool)
            used, idle = used + node_used, idle + node_idle
        return used, idle

    def close_connections(self) -> None:
        """Close every node's connections, those in use when their call ends (``pools``); the next
        call reconnects (the client itself is kept)."""
        close_node_pools(self.node_pools())

    def topology(self) -> dict[str, Any] | None:
        """The cluster as one of its nodes sees it (``topology.cluster_view``); no call slot taken,
        so stats and health answer while the slots are busy."""
        try:
            return topology.cluster_view(self.cluster())
        except CLUSTER_ERRORS as exc:
            raise translated(exc) from exc


class AsyncClusterTransport:
    """An :class:`~.transport.AsyncTransport` over one event loop's ``redis.asyncio`` ``RedisCluster``.

    redis.asyncio's cluster client discovers the cluster on its first command, so it is built at once.
    """

    def __init__(self, cluster: async_cluster.RedisCluster, max_connections: int, timeout: float) -> None:
        self.cluster = cluster
        self._slots = asyncio.Semaphore(max_connections)
        self._timeout = timeout
        self._scripts: dict[str, Any] = {}

    @asynccontextmanager
    async def _call(self) -> AsyncIterator[async_cluster.RedisCluster]:
        """Async twin of ``ClusterTransport._call``, with the cluster discovered first.

        redis-py 8.1 discovers the cluster lazily inside the first command, and that races when many
        tasks send their first command at once: connections get closed under each other's feet
        ("Connection closed by server"). Awaiting ``initialize()`` first serializes discovery on
        redis-py's own lock; once done it returns at once.
        """
        try:
            async with asyncio.timeout(self._timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise _no_slot(self._timeout) from None
        try:
            await self.cluster.initialize()
            yield self.cluster
        except CLUSTER_ERRORS as exc:
            raise translated(exc) from exc
        finally:
            self._slots.release()

    async def get(self, name: bytes) -> Reply:
        async with self._call() as cluster:
            return await cluster.get(name)

    async def set(self, name: bytes, value: bytes, *, px: int | None = None) -> Any:
        async with self._call() as cluster:
            return await cluster.set(name, value, px=px)

    async def getrange(self, name: bytes, start: int, end: int) -> bytes | str:
        async with self._call() as cluster:
            return cast(bytes, await cluster.getrange(name, start, end))

    async def get_with_pttl(self, name: bytes) -> tuple[Reply, int]:
        async with self._call() as cluster:
            pipe = cluster.pipeline()
            pipe.get(name)
            pipe.pttl(name)
            payload, pttl = await pipe.execute()
            return payload, pttl

    async def mget(self, names: list[bytes]) -> list[Reply]:
        async with self._call() as cluster:
            return cast(list[Reply], await cluster.mget_nonatomic(names))

    async def unlink(self, *names: bytes) -> int:
        async with self._call() as cluster:
            return await cluster.unlink(*names)

    async def write_batch(
        self, names: Sequence[bytes], payloads: Sequence[bytes], pxs: Sequence[int | None]
    ) -> None:
        async with self._call() as cluster:
            pipe = cluster.pipeline()
            for name, payload, px in zip(names, payloads, pxs, strict=True):
                pipe.set(name, payload, px=px)
            await pipe.execute()

    async def run_script(self, source: str, keys: Sequence[bytes], args: Sequence[Any]) -> Any:
        async with self._call() as cluster:
            script = self._scripts.get(source)
            if script is None:
                script = self._scripts[source] = cluster.register_script(source)
            return await script(keys=keys, args=args, client=cluster)

    async def scan_pages(self, match: bytes, count: int) -> AsyncIterator[list[bytes]]:
        """Async twin of :meth:`ClusterTransport.scan_pages`."""
        async with self._call() as cluster:
            primaries = cluster.get_primaries()
        for node in primaries:
            cursor = 0
            while True:
                async with self._call() as cluster:
                    reply = await cluster.scan(cursor, match=match, count=count, target_nodes=node)
                cursors, names = cast(_ScanReply, reply)
                cursor = cursors[node.name]
                yield names
                if not cursor:
                    break

    def pool_usage(self) -> tuple[int, int]:
        """``(in use, idle)`` connections over every node.

        redis.asyncio's ``ClusterNode`` keeps its connections in two lists and offers no count of
        its own (unlike the pools' ``get_connection_count``); read defensively, for stats only.
        """
        in_use = idle = 0
        for node in self.cluster.get_nodes():
            free = len(getattr(node, "_free", ()))
            in_use, idle = in_use + len(getattr(node, "_connections", ())) - free, idle + free
        return in_use, idle

    async def close_connections(self) -> None:
        """Async twin of :meth:`ClusterTransport.close_connections`, on the transport's loop."""
        await aclose_cluster_nodes(self.cluster.get_nodes())

    async def aclose(self) -> None:
        await self.cluster.aclose()
