"""Async Redis contenders, with 1 task and with many concurrent tasks on one event loop.

Raw ``redis.asyncio`` does the provider's work by hand, twice: as it comes (``raw``: its plain
pool, which fails rather than waits when exhausted, and redis-py 8's 5 s socket timeouts), and
built like the provider's own client (``raw-pool``: a blocking pool of the configured size and
timeout, the configured socket timeouts and retries, see :func:`raw_like_provider`), so that a
ratio can compare like with like. aiocache's ``RedisCache`` is the peer. Each contender's ``run`` drives its
coroutines to completion on the benchmark's one ``asyncio.Runner``, so per-loop clients and pools
live across rounds.

"1 task" is a lone caller: the runner's one task awaits one call after the other, the way a
request handler awaits its cache. "N tasks" are N tasks doing the same at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from src.benchmarks.redis_contenders import Providers
from src.benchmarks.runner import Contender
from src.benchmarks.workload import TTL_SECONDS, Workload
from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.serialization import FORMAT_VERSION

#: One key-operation of a contender: ``op(key)``.
Operation = Callable[[str], Awaitable[object]]

#: The raw clients: (role, contender name, client).
RawClients = list[tuple[str, str, redis.asyncio.Redis]]


def raw_like_provider(url: str, config: RedisCacheConfig) -> redis.asyncio.Redis:
    """redis.asyncio's own client, built as the provider builds its client for one event loop: a
    ``BlockingConnectionPool`` of ``max_connections`` waiting at most ``connection_pool.timeout``
    for a connection, the configured socket timeouts, and the configured retries."""
    errors: tuple[type[RedisError], ...] = (RedisConnectionError,)
    if config.retry_on_timeout:
        errors += (RedisTimeoutError,)
    backoff = ExponentialWithJitterBackoff(cap=config.retry_backoff_cap, base=config.retry_backoff_base)
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=config.connection_pool.max_connections,
        timeout=config.connection_pool.timeout,
        socket_timeout=config.socket_timeout,
        socket_connect_timeout=config.socket_connect_timeout,
        retry=Retry(backoff, config.retries, supported_errors=errors),
    )
    return redis.asyncio.Redis.from_pool(pool)


def async_contenders(
    workload: Workload,
    *,
    runner: asyncio.Runner,
    raws: RawClients,
    prefix: str,
    providers: Providers,
    peer: Any | None,
    task_counts: tuple[int, ...],
) -> list[Contender]:
    """``get_async``/``set_async`` cases, one per task count, for each raw client, each provider
    and the peer."""
    value = workload.value
    gets: list[tuple[str, str, Operation]] = []
    sets: list[tuple[str, str, Operation]] = []
    for role, name, client in raws:
        gets.append((role, name, _raw_get(client, prefix)))
        sets.append((role, name, _raw_set(client, prefix, value)))
    for role, name, provider in providers:
        gets.append((role, name, provider.get_async))
        sets.append((role, name, _setter(provider.set_async, value)))
    if peer is not None:
        gets.append(("peer", "aiocache RedisCache, msgpack", peer.get))
        sets.append(("peer", "aiocache RedisCache, msgpack", _setter(peer.set, value)))
    contenders = []
    for tasks in task_counts:
        label = f"{tasks} task" if tasks == 1 else f"{tasks} tasks"
        for operation, variants in (("get", gets), ("set", sets)):
            case = f"redis {operation}_async, {label}"
            for role, name, op in variants:
                contenders.append(Contender(case, name, role, driver(runner, op, workload, tasks)))
    return contenders


def _raw_get(client: redis.asyncio.Redis, prefix: str) -> Operation:
    async def op(key: str) -> None:
        payload = await client.get(prefix + key)
        msgpack.unpackb(payload[1:])  # type: ignore[index]

    return op


def _raw_set(client: redis.asyncio.Redis, prefix: str, value: Any) -> Operation:
    async def op(key: str) -> None:
        await client.set(prefix + key, FORMAT_VERSION + msgpack.packb(value), ex=TTL_SECONDS)

    return op


def _setter(set_: Callable[..., Awaitable[object]], value: Any) -> Operation:
    async def op(key: str) -> None:
        await set_(key, value, ttl=TTL_SECONDS)

    return op


def driver(runner: asyncio.Runner, op: Operation, workload: Workload, tasks: int) -> Callable[[int], int]:
    """``run(ops)``: ``ops`` calls of ``op`` spread over ``tasks`` concurrent tasks, each awaiting in
    turn; with one task, the runner's own task makes every call (nothing else runs on the loop)."""
    keys, count = workload.keys, len(workload.keys)

    async def worker(first: int, ops: int) -> None:
        for i in range(first, ops, tasks):
            await op(keys[i % count])

    async def all_workers(ops: int) -> None:
        if tasks == 1:
            await worker(0, ops)
            return
        await asyncio.gather(*(worker(first, ops) for first in range(min(tasks, ops))))

    def run(ops: int) -> int:
        runner.run(all_workers(ops))
        return ops

    return run
