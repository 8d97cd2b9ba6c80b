"""get_stats(): exact counters, identical keys across providers, exact under concurrency."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from src.interfaces.llm.cache import ICacheProvider

REQUIRED = {"provider", "hits", "misses", "hit_rate", "sets", "deletes", "errors"}


def test_stats_have_the_required_keys(cache_provider: ICacheProvider) -> None:
    stats = cache_provider.get_stats()
    assert stats.keys() >= REQUIRED
    assert stats["provider"] == cache_provider.name
    assert stats["hit_rate"] == 0.0


def test_stats_count_each_operation_exactly(cache_provider: ICacheProvider) -> None:
    cache_provider.set("a", 1)
    cache_provider.set("n", None)
    cache_provider.set_many({"b": 2, "c": 3})
    cache_provider.get("a")
    cache_provider.get("n")  # a stored None is a hit
    cache_provider.get("missing")
    cache_provider.get_many(["b", "c", "x", "y"])
    cache_provider.delete("a")
    cache_provider.delete("a")  # removed nothing: not counted
    cache_provider.delete_many(["b", "c", "zz"])
    stats = cache_provider.get_stats()
    assert (stats["sets"], stats["hits"], stats["misses"], stats["deletes"]) == (4, 4, 3, 3)
    assert stats["hit_rate"] == 4 / 7
    assert stats["errors"] == 0


def test_exists_is_not_a_lookup(cache_provider: ICacheProvider) -> None:
    cache_provider.set("a", 1)
    cache_provider.exists("a")
    cache_provider.exists("b")
    stats = cache_provider.get_stats()
    assert (stats["hits"], stats["misses"]) == (0, 0)


def test_failed_set_is_not_counted(cache_provider: ICacheProvider) -> None:
    with pytest.raises(TypeError):
        cache_provider.set("a", {1})
    assert cache_provider.get_stats()["sets"] == 0


def test_stats_are_exact_under_concurrent_threads(cache_provider: ICacheProvider) -> None:
    threads, rounds = 8, 100  # 808 entries: under the fixture's max_size, so nothing is evicted
    cache_provider.set_many({f"hit-{t}": t for t in range(threads)})

    def work(t: int) -> None:
        for i in range(rounds):
            cache_provider.set(f"t{t}-{i}", i)
            assert cache_provider.get(f"hit-{t}") == t
            assert cache_provider.get(f"absent-{t}-{i}") is None

    with ThreadPoolExecutor(threads) as pool:
        for outcome in [pool.submit(work, t) for t in range(threads)]:
            outcome.result()  # re-raises a worker's failure here
    stats = cache_provider.get_stats()
    assert stats["sets"] == threads + threads * rounds
    assert stats["hits"] == threads * rounds
    assert stats["misses"] == threads * rounds
    assert cache_provider.get_size() == threads + threads * rounds


@pytest.mark.mixed_colours
async def test_stats_are_exact_under_concurrent_tasks(cache_provider: ICacheProvider) -> None:
    tasks = 200
    await cache_provider.set_async("hit", "v")

    async def work(i: int) -> None:
        await cache_provider.set_async(f"task-{i}", i)
        assert await cache_provider.get_async("hit") == "v"
        assert await cache_provider.get_async(f"absent-{i}") is None
        assert await cache_provider.get_async(f"task-{i}") == i

    await asyncio.gather(*(work(i) for i in range(tasks)))
    stats = cache_provider.get_stats()
    assert (stats["sets"], stats["hits"], stats["misses"]) == (tasks + 1, 2 * tasks, tasks)
