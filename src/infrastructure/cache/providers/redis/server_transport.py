"""The transports of one server: standalone, or the master a Sentinel names, over ``redis.Redis``.

The single-key commands are redis-py's own bound methods, handed out as attributes: the provider's
``self._transport.get(name)`` is exactly the call it would make on the client, with no frame of
ours in between. The async ``set`` is the exception: redis.asyncio's ``set()`` checks a dozen
options the provider never passes (~2 µs of CPU, 3% of a lone ``set_async``), so the async
transport sends the command it means, ``SET name value [PX px]``, through the client's
``execute_command`` (the same reply parsing, retries and timeouts).

What differs from a cluster is decided here, once: a batch of SETs is one Lua script call
(``batch_writes``), a sweep is one server's SCAN, the pool is one blocking pool of ``pools`` (whose
``close_connections`` never breaks a call in flight).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from functools import partial
from typing import Any, cast

import redis
import redis.asyncio

from src.infrastructure.cache.providers.redis import topology
from src.infrastructure.cache.providers.redis.batch_writes import AsyncBatchWriter, BatchWriter
from src.infrastructure.cache.providers.redis.pools import (
    AsyncBlockingPool,
    BlockingPool,
    BlockingSentinelPool,
    pool_counts,
)
from src.infrastructure.cache.providers.redis.transport import Reply
from src.infrastructure.cache.providers.redis.ttl_reads import WithTtl, get_with_pttl, get_with_pttl_async


class RedisTransport:
    """A :class:`~.transport.SyncTransport` over a ``redis.Redis`` and its :class:`BlockingPool`."""

    get: Callable[[bytes], Reply]
    set: Callable[..., Any]
    getrange: Callable[[bytes, int, int], bytes | str]
    get_with_pttl: Callable[[bytes], WithTtl]
    mget: Callable[[list[bytes]], list[Reply]]
    unlink: Callable[..., int]
    write_batch: Callable[[Sequence[bytes], Sequence[bytes], Sequence[int | None]], None]

    def __init__(self, client: redis.Redis, pool: BlockingPool) -> None:
        """``client`` and its connection pool (``client.connection_pool``)."""
        self.client = client
        self._pool = pool
        self._scripts: dict[str, Any] = {}  # source -> redis-py Script, registered on first use
        # redis-py declares its replies as "Awaitable or anything": these are the sync client's.
        self.get = cast(Callable[[bytes], Reply], client.get)
        self.set = client.set
        self.getrange = cast(Callable[[bytes, int, int], bytes | str], client.getrange)
        self.get_with_pttl = partial(get_with_pttl, pool)
        self.mget = cast(Callable[[list[bytes]], list[Reply]], client.mget)
        self.unlink = cast(Callable[..., int], client.unlink)
        self.write_batch = BatchWriter(client).write

    def run_script(self, source: str, keys: Sequence[bytes], args: Sequence[Any]) -> Any:
        script = self._scripts.get(source)
        if script is None:  # two threads may both register: the same source, the same SHA
            script = self._scripts[source] = self.client.register_script(source)
        return script(keys=keys, args=args)

    def scan_pages(self, match: bytes, count: int) -> Iterator[list[bytes]]:
        cursor = 0
        while True:
            cursor, page = self.client.scan(cursor, match=match, count=count)
            yield cast(list[bytes], page)  # bytes: the clients never decode replies
            if not cursor:
                return

    def ping(self) -> bool:
        return bool(self.client.ping())

    def pool_usage(self) -> tuple[int, int]:
        return pool_counts(self._pool)

    def close_connections(self) -> None:
        self._pool.close_connections()

    def topology(self) -> dict[str, Any] | None:
        return None


class SentinelTransport(RedisTransport):
    """A :class:`RedisTransport` over the master the sentinels name, which can tell its topology."""

    def __init__(
        self, client: redis.Redis, pool: BlockingSentinelPool, service_name: str, sentinels: tuple[str, ...]
    ) -> None:
        super().__init__(client, pool)
        self._sentinel = pool.sentinel_manager
        self._service_name = service_name
        self._sentinels = sentinels

    def topology(self) -> dict[str, Any] | None:
        return topology.sentinel_view(self._sentinel, self._service_name, self._sentinels)


class AsyncRedisTransport:
    """An :class:`~.transport.AsyncTransport` over one event loop's ``redis.asyncio.Redis`` and its
    :class:`AsyncBlockingPool` (standalone and sentinel alike)."""

    get: Callable[[bytes], Awaitable[Reply]]
    getrange: Callable[[bytes, int, int], Awaitable[bytes | str]]
    get_with_pttl: Callable[[bytes], Awaitable[WithTtl]]
    mget: Callable[[list[bytes]], Awaitable[list[Reply]]]
    unlink: Callable[..., Awaitable[int]]
    write_batch: Callable[[Sequence[bytes], Sequence[bytes], Sequence[int | None]], Awaitable[None]]

    def __init__(self, client: redis.asyncio.Redis, pool: AsyncBlockingPool) -> None:
        """``client`` and its connection pool (``client.connection_pool``)."""
        self.client = client
        self._pool = pool
        self._scripts: dict[str, Any] = {}
        self.get = cast(Callable[[bytes], Awaitable[Reply]], client.get)
        self.getrange = cast(Callable[[bytes, int, int], Awaitable[bytes | str]], client.getrange)
        self.get_with_pttl = partial(get_with_pttl_async, pool)
        self.mget = cast(Callable[[list[bytes]], Awaitable[list[Reply]]], client.mget)
        self.unlink = cast(Callable[..., Awaitable[int]], client.unlink)
        self.write_batch = AsyncBatchWriter(client).write
        self._execute = cast(Callable[..., Awaitable[Any]], client.execute_command)

    def set(self, name: bytes, value: bytes, *, px: int | None = None) -> Awaitable[Any]:
        """``SET name value [PX px]`` (see the module's docstring); the client's own coroutine,
        returned as it is, so no frame of ours runs while it is awaited."""
        if px is None:
            return self._execute("SET", name, value)
        return self._execute("SET", name, value, "PX", px)

    async def run_script(self, source: str, keys: Sequence[bytes], args: Sequence[Any]) -> Any:
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client.register_script(source)
        return await script(keys=keys, args=args)

    async def scan_pages(self, match: bytes, count: int) -> AsyncIterator[list[bytes]]:
        cursor = 0
        while True:
            cursor, page = await self.client.scan(cursor, match=match, count=count)
            yield cast(list[bytes], page)  # bytes: the clients never decode replies
            if not cursor:
                return

    def pool_usage(self) -> tuple[int, int]:
        return pool_counts(self._pool)

    async def close_connections(self) -> None:
        await self._pool.close_connections()

    async def aclose(self) -> None:
        await self.client.aclose()  # the client owns its pool: this disconnects every connection
