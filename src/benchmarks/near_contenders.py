"""The near cache (issue 14): a hot key read from the process, a cold read, and its memory.

Four cases, each side by side with what it is held to:

* **hot key**, sync and async (1 task): one key read again and again - the near cache answers
  (``near``) - against raw redis-py ``GET`` / raw ``redis.asyncio`` ``GET`` of that key plus the
  msgpack decode (``raw``): target at most 0.1x raw's time;
* **cold**, sync and async: every read misses the near cache (a near cache of 16 entries cycling
  through the workload's 1000 keys: each read is the GET + PTTL round trip, the insert and an
  eviction) against the cache without it (``ours``): target at most 1.10x.

The near caches are built by the container from the configured Redis cache with ``near_cache``
enabled, under their own prefixes inside the run's (``<run prefix>near-hot:``, ``near-cold:``), so
their invalidation listeners hear only their own keys, never the other contenders' writes.

:func:`near_memory` measures what 10k entries of the workload's value hold (``tracemalloc``):
names, payloads and the store's own structures.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import msgpack
import redis
import redis.asyncio
from dependency_injector import providers as di

from src.benchmarks.runner import Contender
from src.benchmarks.workload import TTL_SECONDS, Workload, each_key, key_for
from src.infrastructure.cache.config.cache_config import CacheConfig, NearCacheConfig, RedisCacheConfig
from src.infrastructure.cache.near.store import NO_EXPIRY, NearStore
from src.infrastructure.cache.serialization import dumps
from src.interfaces.llm.cache import ICacheProvider
from src.services.container import ApplicationContainer

HOT_SYNC = "redis get, hot key (sync)"
HOT_ASYNC = "redis get_async, hot key, 1 task"
COLD_SYNC = "redis get, cold near cache (sync)"
COLD_ASYNC = "redis get_async, cold near cache, 1 task"
NEAR_ROLE = {"near": "the Redis cache as services get it with near_cache enabled"}
#: A hot read is ~10x quicker than a round trip: it runs this many more per round.
HOT_SCALE = 10
#: Entries of the cold near cache: far fewer than the keys it cycles through, so every read misses.
COLD_SIZE = 16
#: How long the listener may take to establish tracking before the contenders run.
SERVING_WITHIN = 5.0


def near_contenders(
    stack: ExitStack,
    runner: asyncio.Runner,
    *,
    config: CacheConfig,
    workload: Workload,
    raw: redis.Redis,
    raw_async: redis.asyncio.Redis,
    ours: ICacheProvider,
) -> list[Contender]:
    """The four cases (see the module); ``config`` names the run's Redis cache (url, prefix)."""
    redis_config = config.providers["redis"]
    assert isinstance(redis_config, RedisCacheConfig)
    hot = _near_cache(stack, runner, config, f"{redis_config.key_prefix}near-hot:", 1000)
    cold = _near_cache(stack, runner, config, f"{redis_config.key_prefix}near-cold:", COLD_SIZE)
    key = workload.keys[0]
    hot.set(key, workload.value, TTL_SECONDS)
    cold.set_many(dict.fromkeys(workload.keys, workload.value), TTL_SECONDS)
    raw_key = f"{redis_config.key_prefix}near-hot:{key}"
    return [
        Contender(HOT_SYNC, "raw redis-py + hiredis", "raw", _raw_get(raw, raw_key)),
        Contender(HOT_SYNC, "agent-cache redis, near cache", "near", each_key((key,), hot.get), HOT_SCALE),
        Contender(HOT_ASYNC, "raw redis.asyncio + hiredis", "raw", _loop_raw_get(runner, raw_async, raw_key)),
        Contender(
            HOT_ASYNC, "agent-cache redis, near cache", "near", _loop_get(runner, hot, (key,)), HOT_SCALE
        ),
        Contender(COLD_SYNC, "agent-cache redis (container)", "ours", each_key(workload.keys, ours.get)),
        Contender(
            COLD_SYNC, "agent-cache redis, near cache missing", "near", each_key(workload.keys, cold.get)
        ),
        Contender(
            COLD_ASYNC, "agent-cache redis (container)", "ours", _loop_get(runner, ours, workload.keys)
        ),
        Contender(
            COLD_ASYNC,
            "agent-cache redis, near cache missing",
            "near",
            _loop_get(runner, cold, workload.keys),
        ),
    ]


def _near_cache(
    stack: ExitStack, runner: asyncio.Runner, config: CacheConfig, prefix: str, size: int
) -> ICacheProvider:
    """The run's Redis cache under ``prefix`` with a near cache of ``size``, serving."""
    redis_config = config.providers["redis"]
    assert isinstance(redis_config, RedisCacheConfig)
    near = replace(redis_config, key_prefix=prefix, near_cache=NearCacheConfig(enabled=True, max_size=size))
    container = ApplicationContainer(
        config=di.Object(replace(config, providers={**config.providers, "redis": near}))
    )
    stack.callback(container.shutdown_resources)
    cache: ICacheProvider = container.resolver().get_named(ICacheProvider, "redis")
    stack.callback(lambda: runner.run(cache.aclose()))  # its connections of the run's loop, on it
    cache.exists("start")  # the first read starts the invalidation listener
    deadline = time.monotonic() + SERVING_WITHIN
    while not cache.get_stats()["near"]["serving"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the near cache did not start tracking within {SERVING_WITHIN} s")
        time.sleep(0.005)
    return cache


def _raw_get(client: redis.Redis, name: str) -> Callable[[int], int]:
    def run(ops: int) -> int:
        for _ in range(ops):
            payload = client.get(name)
            msgpack.unpackb(payload[1:])  # type: ignore[index]
        return ops

    return run


def _loop_raw_get(runner: asyncio.Runner, client: redis.asyncio.Redis, name: str) -> Callable[[int], int]:
    async def calls(ops: int) -> None:
        for _ in range(ops):
            payload = await client.get(name)
            msgpack.unpackb(payload[1:])  # type: ignore[index]

    def run(ops: int) -> int:
        runner.run(calls(ops))
        return ops

    return run


def _loop_get(runner: asyncio.Runner, cache: ICacheProvider, keys: tuple[str, ...]) -> Callable[[int], int]:
    count = len(keys)

    async def calls(ops: int) -> None:
        for i in range(ops):
            await cache.get_async(keys[i % count])

    def run(ops: int) -> int:
        runner.run(calls(ops))
        return ops

    return run


def near_memory(value: Any, prefix: str = "agent:cache:", entries: int = 10_000) -> dict[str, Any]:
    """What ``entries`` entries of ``value`` hold in a near cache, by ``tracemalloc``: each entry's
    Redis name and payload (distinct objects, as Redis replies are) and the store's structures."""
    payload = dumps(value)
    store = NearStore(entries, 3600.0, len(payload), clock=time.monotonic)
    store.tracking_on(store.new_session())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for number in range(entries):
            name = f"{prefix}{key_for(number)}".encode()
            ticket = store.begin(name)
            assert ticket is not None
            store.finish(name, ticket, bytes(bytearray(payload)), NO_EXPIRY)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert store.snapshot()["size"] == entries
    return {
        "entries": entries,
        "value_bytes": len(payload),
        "name_bytes": len(f"{prefix}{key_for(0)}"),
        "bytes_per_entry": held / entries,
        "mb_per_10k_entries": held / entries * 10_000 / 1e6,
    }
