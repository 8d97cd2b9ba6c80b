"""Many threads, many tasks, several event loops: no error, exact counts, bounded pools."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from src.infrastructure.cache.config.cache_config import ConnectionPoolConfig
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider

pytestmark = pytest.mark.redis

MakeRedis = Callable[..., RedisCacheProvider]
SMALL_POOL = ConnectionPoolConfig(max_connections=10, timeout=5.0)


def test_50_threads_of_200_operations_share_10_connections(make_redis_provider: MakeRedis) -> None:
    provider = make_redis_provider(connection_pool=SMALL_POOL)
    threads, rounds = 50, 100  # each round is a set and a get: 200 operations per thread

    def work(t: int) -> None:
        for i in range(rounds):
            provider.set(f"t{t}-{i}", [t, i])
            assert provider.get(f"t{t}-{i}") == [t, i]

    with ThreadPoolExecutor(threads) as pool:
        for outcome in [pool.submit(work, t) for t in range(threads)]:
            outcome.result()
    stats = provider.get_stats()
    assert (stats["sets"], stats["hits"], stats["misses"], stats["errors"]) == (5000, 5000, 0, 0)
    assert stats["pool"]["in_use"] == 0
    assert stats["pool"]["idle"] <= 10
    assert provider.get_size() == 5000


def test_500_concurrent_tasks_share_10_connections(make_redis_provider: MakeRedis) -> None:
    provider = make_redis_provider(connection_pool=SMALL_POOL)

    async def work(i: int) -> None:
        await provider.set_async(f"task-{i}", i)
        assert await provider.get_async(f"task-{i}") == i
        assert await provider.get_async(f"absent-{i}") is None

    async def main() -> dict[str, int]:
        await asyncio.gather(*(work(i) for i in range(500)))
        pools: dict[str, int] = provider.get_stats()["async_pools"]
        return pools

    pools = asyncio.run(main())
    stats = provider.get_stats()
    assert (stats["sets"], stats["hits"], stats["misses"], stats["errors"]) == (500, 500, 500, 0)
    assert pools["in_use"] == 0
    # Concurrent GETs and SETs of one loop leave as shared MGETs / script calls (coalescing), so the
    # 500 tasks need far fewer than 10 connections; never more.
    assert 1 <= pools["idle"] <= 10


def test_successive_event_loops_work_and_leave_no_connection_open(redis_provider: RedisCacheProvider) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(redis_provider.set_async("k", "v"))
        assert asyncio.run(redis_provider.get_async("k")) == "v"
        asyncio.run(redis_provider.aclose())
        assert asyncio.run(redis_provider.get_many_async(["k"])) == {"k": "v"}
        gc.collect()
    # Each loop's pool was closed while its loop still ran (at asyncio.run's shutdown), so no
    # connection was left for the garbage collector to find open.
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_event_loops_in_several_threads_at_once(redis_provider: RedisCacheProvider) -> None:
    barrier = threading.Barrier(4)

    async def work(t: int) -> None:
        barrier.wait()  # all four loops run at the same time
        await asyncio.gather(*(redis_provider.set_async(f"t{t}-{i}", i) for i in range(50)))
        assert await redis_provider.get_many_async([f"t{t}-{i}" for i in range(50)]) == {
            f"t{t}-{i}": i for i in range(50)
        }

    with ThreadPoolExecutor(4) as pool:
        for outcome in [pool.submit(asyncio.run, work(t)) for t in range(4)]:
            outcome.result()
    assert redis_provider.get_stats()["sets"] == 200
    assert redis_provider.get_size() == 200
