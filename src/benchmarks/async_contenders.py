"""Async Redis contenders, with 1 task and with many concurrent tasks on one event loop.

Raw ``redis.asyncio`` (default settings, hiredis) does the provider's work by hand; aiocache's
``RedisCache`` is the peer. Each contender's ``run`` drives its coroutines to completion on the
benchmark's one ``asyncio.Runner``, so per-loop clients and pools live across rounds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
import redis.asyncio

from src.benchmarks.redis_contenders import Providers
from src.benchmarks.runner import Contender
from src.benchmarks.workload import TTL_SECONDS, Workload
from src.infrastructure.cache.serialization import FORMAT_VERSION

#: One key-operation of a contender: ``op(key)``.
Operation = Callable[[str], Awaitable[object]]


def async_contenders(
    workload: Workload,
    *,
    runner: asyncio.Runner,
    raw: redis.asyncio.Redis,
    prefix: str,
    providers: Providers,
    peer: Any | None,
    task_counts: tuple[int, ...],
) -> list[Contender]:
    """``get_async``/``set_async`` cases, one per task count, for raw, each provider and the peer."""
    value = workload.value

    async def raw_get(key: str) -> None:
        payload = await raw.get(prefix + key)
        msgpack.unpackb(payload[1:])  # type: ignore[index]

    async def raw_set(key: str) -> None:
        await raw.set(prefix + key, FORMAT_VERSION + msgpack.packb(value), ex=TTL_SECONDS)

    gets: list[tuple[str, str, Operation]] = [("raw", "raw redis.asyncio + hiredis", raw_get)]
    sets: list[tuple[str, str, Operation]] = [("raw", "raw redis.asyncio + hiredis", raw_set)]
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
                contenders.append(Contender(case, name, role, _driver(runner, op, workload, tasks)))
    return contenders


def _setter(set_: Callable[..., Awaitable[object]], value: Any) -> Operation:
    async def op(key: str) -> None:
        await set_(key, value, ttl=TTL_SECONDS)

    return op


def _driver(runner: asyncio.Runner, op: Operation, workload: Workload, tasks: int) -> Callable[[int], int]:
    """``run(ops)``: ``ops`` calls of ``op`` spread over ``tasks`` concurrent tasks, each awaiting in turn."""
    keys, count = workload.keys, len(workload.keys)

    async def worker(first: int, ops: int) -> None:
        for i in range(first, ops, tasks):
            await op(keys[i % count])

    async def all_workers(ops: int) -> None:
        await asyncio.gather(*(worker(first, ops) for first in range(min(tasks, ops))))

    def run(ops: int) -> int:
        runner.run(all_workers(ops))
        return ops

    return run
