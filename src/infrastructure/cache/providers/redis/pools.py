"""The connection pools the provider builds, and closing connections without breaking calls in flight.

``close()`` and ``aclose()`` may run while other threads and tasks are still calling - that is what
``container.shutdown_resources()`` does to workers that have not stopped yet - and the provider stays
usable after them. redis-py's ``pool.disconnect()`` (what ``Redis.close()`` and ``aclose()`` call)
closes every connection, including one another thread is in the middle of a command on: that command
then fails deep inside redis-py with whatever the vanished socket makes it raise (``TypeError:
argument must be an int, or have a fileno() method`` from hiredis' poll, ``AttributeError:
'NoneType' object has no attribute 'sendall'`` or ``'writelines'``) - errors no caller can expect
and no translation could tell from a bug. ``disconnect(inuse_connections=False)`` does not cure the
blocking pools either: it disconnects a snapshot of the idle connections while other threads keep
taking connections from the queue, which that method's lock does not guard.

So closing here never touches a connection someone else holds:

- an idle connection is first taken out of its pool, as a caller would take it, then disconnected
  and put back (it reconnects when next used);
- a connection in use is *retired*: it is disconnected by its user's own ``release``.

Every connection open when a close starts is closed as soon as nobody uses it, a call in flight
completes normally, and a later call opens a new connection. :class:`BlockingPool` and
:class:`AsyncBlockingPool` (standalone and Sentinel masters) add this as ``close_connections()``;
:func:`close_node_pools` and :func:`aclose_cluster_nodes` apply it to the pools redis-py builds
itself for a cluster's nodes (through redis-py's own lazy-reconnect flag), and the sentinel pools to
their sentinels' connections. Each transport calls the one that fits its pools.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import weakref
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.sentinel
import redis.sentinel
from redis.observability.attributes import DB_CLIENT_CONNECTION_STATE


class BlockingPool(redis.BlockingConnectionPool):
    """redis-py's thread-safe blocking pool, plus :meth:`close_connections`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._retire_lock = threading.Lock()
        self._retiring: weakref.WeakSet[Any] = weakref.WeakSet()  # to disconnect on release
        #: Whether ``_retiring`` may hold a connection. release() tests it on every call, and a
        #: plain attribute costs nothing there, where a WeakSet's truth is a Python ``__len__``.
        self._may_retire = False
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]

    def close_connections(self) -> None:
        """Disconnect the idle connections now, and those in use when their callers release them."""
        with self._retire_lock:
            # Every connection opened so far, before any is taken below: one released from now on
            # is disconnected by release(), one still idle is disconnected here.
            self._retiring.update(self._connections)
            self._may_retire = bool(self._retiring)
        idle = self._take_idle()
        try:
            for connection in idle:
                if connection is not None:  # None: a slot the pool has not opened a connection in
                    with self._retire_lock:
                        self._retiring.discard(connection)
                    connection.disconnect()
        finally:
            for connection in idle:
                self.pool.put_nowait(connection)

    def _take_idle(self) -> list[Any]:
        """Everything in the queue, taken as ``get_connection`` takes it: no other thread has these."""
        taken: list[Any] = []
        while True:
            try:
                taken.append(self.pool.get_nowait())
            except queue.Empty:
                return taken

    def release(self, connection: Any) -> None:
        if self._may_retire:  # false but for a moment after a close: one test on the hot path
            with self._retire_lock:
                retired = connection in self._retiring
                self._retiring.discard(connection)
                self._may_retire = bool(self._retiring)
            if retired:
                connection.disconnect()
        super().release(connection)  # type: ignore[no-untyped-call]


class BlockingSentinelPool(redis.sentinel.SentinelConnectionPool, BlockingPool):
    """Sentinel's master discovery, with the blocking pool's bounded wait for a free connection.

    The pool's sentinels are ours alone, so disconnecting the pool disconnects them too, in the
    same way: all their connections on ``disconnect()``, only idle ones when a new master is found
    (a concurrent lookup keeps its connection) and on :meth:`close_connections`. They reconnect
    when next asked.
    """

    def disconnect(self, inuse_connections: bool = True) -> None:
        super().disconnect(inuse_connections)
        for sentinel in self.sentinel_manager.sentinels:
            sentinel.connection_pool.disconnect(inuse_connections)

    def close_connections(self) -> None:
        super().close_connections()
        for sentinel in self.sentinel_manager.sentinels:
            # A plain ConnectionPool hands out and disconnects idle connections under one lock, so
            # this leaves a lookup in flight alone; its connection stays open until the next close.
            sentinel.connection_pool.disconnect(inuse_connections=False)


class AsyncBlockingPool(redis.asyncio.BlockingConnectionPool):
    """redis.asyncio's blocking pool (one event loop's), plus :meth:`close_connections`, and a
    checkout that takes an idle connection at once.

    redis.asyncio's blocking pool enters an ``asyncio.Condition`` and arms an ``asyncio.timeout``
    on every checkout, and enters the condition again on every release: ~8 µs of CPU per command
    (measured: 11.3 µs per checkout + release against 3.2 µs here), although both only matter when
    a caller has to wait for a connection. Here a caller that finds an idle connection while nobody
    waits takes it at once, and a release wakes the condition only when someone waits. Every other
    checkout (no idle connection, callers waiting already, or redis-py's maintenance mode) is
    redis.asyncio's own, so waiting for a free connection is bounded by ``timeout`` and ordered
    exactly as before.

    Used on its own loop only, so the bookkeeping needs no lock: between two awaits nothing else
    runs on the loop.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._retiring: weakref.WeakSet[Any] = weakref.WeakSet()
        self._may_retire = False  # as BlockingPool's
        self._waiting = 0  # callers inside redis.asyncio's checkout: the condition is theirs
        super().__init__(*args, **kwargs)

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        """A connected connection; waits (at most ``timeout``) only when none is idle."""
        if self._waiting or not self._available_connections or getattr(self, "_in_maintenance", False):
            self._waiting += 1
            try:
                return await super().get_connection()  # type: ignore[no-untyped-call]
            finally:
                self._waiting -= 1
        connection = self._available_connections.pop()
        self._in_use_connections.add(connection)
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def close_connections(self) -> None:
        """Async twin of :meth:`BlockingPool.close_connections`; run it on the pool's loop."""
        self._retiring.update(self._in_use_connections)
        self._may_retire = bool(self._retiring)
        await _disconnect_idle(self)

    async def release(self, connection: Any) -> None:
        if self._may_retire:
            retired = connection in self._retiring
            self._retiring.discard(connection)
            self._may_retire = bool(self._retiring)
            if retired:
                await connection.disconnect()
        # The plain pool's release (the connection back to the idle list), then a wake-up for a
        # waiter if there is one; one that starts waiting after this finds the connection itself.
        await super(redis.asyncio.BlockingConnectionPool, self).release(connection)
        if self._waiting:
            async with self._condition:
                self._condition.notify()


class AsyncBlockingSentinelPool(redis.asyncio.sentinel.SentinelConnectionPool, AsyncBlockingPool):
    """Async twin of :class:`BlockingSentinelPool`."""

    async def disconnect(self, inuse_connections: bool = True) -> None:
        await super().disconnect(inuse_connections)
        for sentinel in self.sentinel_manager.sentinels:
            await sentinel.connection_pool.disconnect(inuse_connections)

    async def close_connections(self) -> None:
        await super().close_connections()
        for sentinel in self.sentinel_manager.sentinels:
            await _disconnect_idle(sentinel.connection_pool)


async def _disconnect_idle(pool: Any) -> None:
    """Disconnect a redis.asyncio pool's idle connections, each taken out of the pool first.

    ``pool.disconnect(inuse_connections=False)`` awaits each disconnect with the connection still
    in the pool, so another task of the loop can pick it up half closed. Here the connections are
    moved to "in use" first (the pool's bound on connections still counts them), then released.
    """
    idle = list(pool._available_connections)
    pool._available_connections.clear()
    pool._in_use_connections.update(idle)
    try:
        await asyncio.gather(*(connection.disconnect() for connection in idle), return_exceptions=True)
    finally:
        for connection in idle:
            await pool.release(connection)


def pool_counts(pool: redis.ConnectionPool | redis.asyncio.ConnectionPool) -> tuple[int, int]:
    """``(connections in use, idle connections)`` of one redis-py pool (sync or asyncio)."""
    counts = {attrs.get(DB_CLIENT_CONNECTION_STATE): count for count, attrs in pool.get_connection_count()}
    return counts.get("used", 0), counts.get("idle", 0)


def close_node_pools(pools: list[redis.ConnectionPool]) -> None:
    """Close the connections of a sync cluster's node pools without disturbing calls in flight.

    Node pools are plain ConnectionPools, which hand out and disconnect idle connections under one
    lock; RedisCluster releases its connections through the pool, which disconnects the ones
    redis-py's flag marks. (``RedisCluster.close()`` would disconnect connections in use.)
    """
    for pool in pools:
        pool.update_active_connections_for_reconnect()
        pool.disconnect_free_connections()


async def aclose_cluster_nodes(nodes: list[redis.asyncio.cluster.ClusterNode]) -> None:
    """Async twin of :func:`close_node_pools`, for the nodes of a redis.asyncio cluster client of
    the running event loop (a node keeps its own connections, without a pool object)."""
    for node in nodes:
        # In use: the node's execute_command disconnects a marked connection when its call ends.
        node.update_active_connections_for_reconnect()
        # Idle: taken out of the node altogether (as acquire_connection takes one), so no task
        # picks one up half closed and the node may open new ones meanwhile; then dropped.
        idle = list(node._free)
        node._free.clear()
        for connection in idle:
            node._connections.remove(connection)
        await asyncio.gather(*(conn.disconnect() for conn in idle), return_exceptions=True)
