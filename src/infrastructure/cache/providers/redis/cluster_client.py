"""redis-py's cluster clients, behind the part of ``redis.Redis``'s API the provider uses.

The provider talks to one client object whatever the mode; for a Redis Cluster that object is a
:class:`ClusterClient` (sync) or an :class:`AsyncClusterClient`. Routing is redis-py's own:
``RedisCluster`` sends each key to the primary of its hash slot, follows MOVED/ASK redirections and
refreshes its map of the cluster after a failure. This module adds four things:

* **Batches by slot.** ``mget`` is redis-py's ``mget_nonatomic`` (one MGET per hash slot),
  ``unlink`` splits by slot the same way and SETs go through the cluster pipeline; each of these is
  one pipeline per node, written to every node before any reply is read. A batch of 100 keys is
  so one round trip per primary, and never a CROSSSLOT error.
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
from collections.abc import AsyncIterator, Callable, Iterator
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


class ClusterClient:
    """A sync ``RedisCluster`` seen through the methods the provider calls on ``redis.Redis``."""

    def __init__(
        self, factory: Callable[[], sync_cluster.RedisCluster], max_connections: int, timeout: float
    ) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._cluster: sync_cluster.RedisCluster | None = None
        self._slots = threading.BoundedSemaphore(max_connections)
        self._timeout = timeout

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

    def get(self, name: bytes) -> bytes | None:
        with self._call() as cluster:
            return cast(bytes | None, cluster.get(name))

    def set(self, name: bytes, value: bytes, px: int | None = None) -> None:
        with self._call() as cluster:
            cluster.set(name, value, px=px)

    def exists(self, *names: bytes) -> int:
        with self._call() as cluster:
            return cluster.exists(*names)

    def getrange(self, name: bytes, start: int, end: int) -> bytes:
        with self._call() as cluster:
            return cast(bytes, cluster.getrange(name, start, end))

    def register_script(self, script: str) -> Any:
        """A single-key script, routed like a command on its key (redis-py's cluster ``Script``)."""
        return self.cluster().register_script(script)

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        """A script by its SHA, routed by its first key (what redis-py's ``Script`` calls)."""
        with self._call() as cluster:
            return cluster.evalsha(sha, numkeys, *keys_and_args)

    def script_load(self, script: str) -> str:
        with self._call() as cluster:
            return cluster.script_load(script)

    def mget(self, names: list[bytes]) -> list[bytes | str | None]:
        """One MGET per hash slot, pipelined per node; values in the order of ``names``."""
        with self._call() as cluster:
            return cast(list[bytes | str | None], cluster.mget_nonatomic(names))

    def unlink(self, *names: bytes) -> int:
        """One UNLINK per hash slot, pipelined per node; returns how many keys were removed."""
        with self._call() as cluster:
            return cluster.unlink(*names)

    def pipeline(self, transaction: bool = False) -> ClusterPipeline:
        """SETs sent as one cluster pipeline; never a transaction (keys span slots)."""
        return ClusterPipeline(self)

    def execute_sets(self, sets: list[tuple[bytes, bytes, int | None]]) -> list[Any]:
        with self._call() as cluster:
            pipe = cluster.pipeline()  # type: ignore[no-untyped-call]
            for name, value, px in sets:
                pipe.set(name, value, px=px)
            return cast(list[Any], pipe.execute())

    def ping(self) -> bool:
        """PING every node redis-py routes to."""
        with self._call() as cluster:
            return bool(cluster.ping())

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

    def node_pools(self) -> list[redis.ConnectionPool]:
        """The connection pool of every node redis-py knows; none before the first call."""
        nodes = self._cluster.get_nodes() if self._cluster is not None else []  # type: ignore[no-untyped-call]
        return [node.redis_connection.connection_pool for node in nodes if node.redis_connection is not None]

    def close(self) -> None:
        """Close every node's pool; the next call reconnects (the client itself is kept)."""
        if self._cluster is not None:
            self._cluster.close()


class ClusterPipeline:
    """Collects SETs, then sends them through redis-py's cluster pipeline: one round trip per node."""

    def __init__(self, client: ClusterClient) -> None:
        self._client = client
        self._sets: list[tuple[bytes, bytes, int | None]] = []

    def __enter__(self) -> ClusterPipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._sets.clear()

    def set(self, name: bytes, value: bytes, px: int | None = None) -> ClusterPipeline:
        self._sets.append((name, value, px))
        return self

    def execute(self) -> list[Any]:
        return self._client.execute_sets(self._sets)


class AsyncClusterClient:
    """A ``redis.asyncio`` ``RedisCluster`` (one event loop's) seen as ``redis.asyncio.Redis``.

    redis.asyncio's cluster client discovers the cluster on its first command, so it is built at once.
    """

    def __init__(self, cluster: async_cluster.RedisCluster, max_connections: int, timeout: float) -> None:
        self.cluster = cluster
        self._slots = asyncio.Semaphore(max_connections)
        self._timeout = timeout

    @asynccontextmanager
    async def _call(self) -> AsyncIterator[async_cluster.RedisCluster]:
        """Async twin of ``ClusterClient._call``, with the cluster discovered first.

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

    async def get(self, name: bytes) -> bytes | None:
        async with self._call() as cluster:
            return cast(bytes | None, await cluster.get(name))

    async def set(self, name: bytes, value: bytes, px: int | None = None) -> None:
        async with self._call() as cluster:
            await cluster.set(name, value, px=px)

    async def exists(self, *names: bytes) -> int:
        async with self._call() as cluster:
            return await cluster.exists(*names)

    async def getrange(self, name: bytes, start: int, end: int) -> bytes:
        async with self._call() as cluster:
            return cast(bytes, await cluster.getrange(name, start, end))

    def register_script(self, script: str) -> Any:
        return self.cluster.register_script(script)

    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        """A script by its SHA, routed by its first key (what redis-py's ``AsyncScript`` calls)."""
        async with self._call() as cluster:
            return await cluster.evalsha(sha, numkeys, *keys_and_args)

    async def script_load(self, script: str) -> str:
        async with self._call() as cluster:
            return await cluster.script_load(script)

    async def mget(self, names: list[bytes]) -> list[bytes | str | None]:
        async with self._call() as cluster:
            return cast(list[bytes | str | None], await cluster.mget_nonatomic(names))

    async def unlink(self, *names: bytes) -> int:
        async with self._call() as cluster:
            return await cluster.unlink(*names)

    def pipeline(self, transaction: bool = False) -> AsyncClusterPipeline:
        return AsyncClusterPipeline(self)

    async def execute_sets(self, sets: list[tuple[bytes, bytes, int | None]]) -> list[Any]:
        async with self._call() as cluster:
            pipe = cluster.pipeline()
            for name, value, px in sets:
                pipe.set(name, value, px=px)
            return await pipe.execute()

    async def scan_pages(self, match: bytes, count: int) -> AsyncIterator[list[bytes]]:
        """Async twin of :meth:`ClusterClient.scan_pages`."""
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

    def connection_counts(self) -> tuple[int, int]:
        """``(in use, idle)`` connections over every node.

        redis.asyncio's ``ClusterNode`` keeps its connections in two lists and offers no count of
        its own (unlike the pools' ``get_connection_count``); read defensively, for stats only.
        """
        in_use = idle = 0
        for node in self.cluster.get_nodes():
            free = len(getattr(node, "_free", ()))
            in_use, idle = in_use + len(getattr(node, "_connections", ())) - free, idle + free
        return in_use, idle

    async def aclose(self) -> None:
        await self.cluster.aclose()


class AsyncClusterPipeline:
    """Async twin of :class:`ClusterPipeline`."""

    def __init__(self, client: AsyncClusterClient) -> None:
        self._client = client
        self._sets: list[tuple[bytes, bytes, int | None]] = []

    async def __aenter__(self) -> AsyncClusterPipeline:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._sets.clear()

    def set(self, name: bytes, value: bytes, px: int | None = None) -> AsyncClusterPipeline:
        self._sets.append((name, value, px))
        return self

    async def execute(self) -> list[Any]:
        return await self._client.execute_sets(self._sets)
