"""What only the memory provider promises: LRU bound, eviction/expiration counts, the copy opt-out."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from src.infrastructure.cache.config.cache_config import MemoryCacheConfig
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider
from tests.conftest import TestClock


def make(clock: TestClock, **settings: object) -> MemoryCacheProvider:
    return MemoryCacheProvider(MemoryCacheConfig(**settings), timer=clock)  # type: ignore[arg-type]


def test_max_size_evicts_least_recently_used(clock: TestClock) -> None:
    cache = make(clock, max_size=3)
    cache.set_many({"a": 1, "b": 2, "c": 3})
    cache.get("a")  # "b" is now the least recently used
    cache.set("d", 4)
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}
    assert cache.get_size() == 3
    assert cache.get_stats()["evictions"] == 1


def test_expired_entries_are_evicted_before_live_ones(clock: TestClock) -> None:
    cache = make(clock, max_size=2)
    cache.set("old-live", 1, ttl=0)
    cache.set("expiring", 2, ttl=1)
    clock.advance(2)
    cache.set("new", 3)
    assert cache.get_many(["old-live", "new"]) == {"old-live": 1, "new": 3}
    stats = cache.get_stats()
    assert (stats["evictions"], stats["expirations"]) == (0, 1)


def test_ttl_is_exact_to_the_millisecond(clock: TestClock) -> None:
    cache = make(clock)
    cache.set("k", "v", ttl=1.234)
    clock.advance(1.233)
    assert cache.exists("k")
    clock.advance(0.002)
    assert not cache.exists("k")


def test_cleanup_expired_purges_and_counts(clock: TestClock) -> None:
    cache = make(clock)
    cache.set_many({"a": 1, "b": 2}, ttl=5)
    cache.set("c", 3, ttl=50)
    clock.advance(10)
    assert cache.cleanup_expired() == 2
    assert cache.cleanup_expired() == 0
    assert cache.get_stats()["expirations"] == 2
    assert cache.get_stats()["size"] == 1


def test_delete_of_an_expired_entry_is_counted_as_expiry_not_delete(clock: TestClock) -> None:
    cache = make(clock)
    cache.set("k", 1, ttl=1)
    clock.advance(2)
    assert cache.delete("k") is False
    stats = cache.get_stats()
    assert (stats["deletes"], stats["expirations"]) == (0, 1)


def test_serialized_copy_is_the_default_and_the_opt_out_stores_references(clock: TestClock) -> None:
    value = {"n": [1]}
    copying, referencing = make(clock), make(clock, serialize_values=False)
    copying.set("k", value)
    referencing.set("k", value)
    value["n"].append(2)
    assert copying.get("k") == {"n": [1]}
    assert referencing.get("k") is value


def test_opt_out_accepts_values_msgpack_would_not(clock: TestClock) -> None:
    cache = make(clock, serialize_values=False)
    cache.set("k", {1, 2})
    assert cache.get("k") == {1, 2}


def test_stats_report_size_and_capacity(clock: TestClock) -> None:
    cache = make(clock, max_size=10)
    cache.set("a", 1)
    stats = cache.get_stats()
    assert (stats["size"], stats["max_size"], stats["provider"]) == (1, 10, "memory")


def test_async_whole_cache_operations_do_not_hold_the_event_loop(clock: TestClock) -> None:
    """clear_async waits for the lock in a worker thread while the loop keeps running other tasks."""
    cache = make(clock)
    cache.set("k", 1)

    async def scenario() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        ticking = asyncio.create_task(ticker())
        with cache._lock:  # another thread in the middle of a long critical section
            clearing = asyncio.create_task(cache.clear_async())
            await asyncio.sleep(0.1)
        assert await clearing == 1
        ticking.cancel()
        return ticks

    assert asyncio.run(scenario()) >= 5


def test_is_safe_under_concurrent_writers_and_evictions() -> None:
    cache = MemoryCacheProvider(MemoryCacheConfig(max_size=50, default_ttl=0))
    errors: list[BaseException] = []

    def hammer(t: int) -> None:
        try:
            for i in range(2000):
                cache.set(f"{t}-{i % 120}", i)
                cache.get(f"{(t + 1) % 4}-{i % 120}")
                if i % 7 == 0:
                    cache.delete(f"{t}-{(i + 3) % 120}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache.get_size() <= 50
    stats = cache.get_stats()
    assert stats["sets"] == 8000
    assert stats["hits"] + stats["misses"] == 8000
    assert stats["evictions"] >= 8000 - 50 - stats["deletes"] - 4 * 120


def test_real_clock_expiry() -> None:
    cache = MemoryCacheProvider(MemoryCacheConfig())
    cache.set("k", 1, ttl=0.05)
    time.sleep(0.08)
    assert cache.get("k") is None


def test_repr_shows_settings(clock: TestClock) -> None:
    assert "max_size=7" in repr(make(clock, max_size=7))


@pytest.mark.parametrize("max_size", [1, 2])
def test_tiny_capacity(clock: TestClock, max_size: int) -> None:
    cache = make(clock, max_size=max_size)
    for i in range(5):
        cache.set(str(i), i)
    assert cache.get_size() == max_size
    assert cache.get("4") == 4
