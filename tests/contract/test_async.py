"""The async twins from the test's own event loop: many tasks at once, sync and async calls on the
same entries, successive loops.

Every other contract test reaches the async twins too, in its ``async`` colour (see
``tests/colours.py``); these tests mix the colours themselves, so they run once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from src.interfaces.llm.cache import CacheSerializationError, ICacheProvider
from tests.conftest import TestClock

pytestmark = pytest.mark.mixed_colours

MISSING = object()


async def test_set_get_delete_exists(cache_provider: ICacheProvider) -> None:
    assert await cache_provider.get_async("k", MISSING) is MISSING
    await cache_provider.set_async("k", {"v": [1, 2]})
    assert await cache_provider.get_async("k") == {"v": [1, 2]}
    assert await cache_provider.exists_async("k") is True
    assert await cache_provider.delete_async("k") is True
    assert await cache_provider.delete_async("k") is False
    assert await cache_provider.exists_async("k") is False


async def test_stored_none_is_a_hit(cache_provider: ICacheProvider) -> None:
    await cache_provider.set_async("none", None)
    assert await cache_provider.exists_async("none") is True
    assert await cache_provider.get_async("none", MISSING) is None


async def test_async_and_sync_share_the_same_entries(cache_provider: ICacheProvider) -> None:
    cache_provider.set("from-sync", 1)
    await cache_provider.set_async("from-async", 2)
    assert await cache_provider.get_async("from-sync") == 1
    assert cache_provider.get("from-async") == 2


async def test_batches(cache_provider: ICacheProvider) -> None:
    await cache_provider.set_many_async({"a": 1, "b": None, "c": (3,)})
    assert await cache_provider.get_many_async(["a", "b", "c", "x"]) == {"a": 1, "b": None, "c": [3]}
    assert await cache_provider.delete_many_async(["a", "x"]) == 1
    assert await cache_provider.get_size_async() == 2
    assert await cache_provider.clear_async() == 2
    assert await cache_provider.get_size_async() == 0


async def test_ttl(cache_provider: ICacheProvider, clock: TestClock) -> None:
    await cache_provider.set_async("short", 1, ttl=0.2)
    await cache_provider.set_async("forever", 2, ttl=0)
    await cache_provider.set_many_async({"batch": 3}, ttl=0.2)
    clock.advance(0.35)
    assert await cache_provider.get_many_async(["short", "forever", "batch"]) == {"forever": 2}


async def test_misuse_raises_the_same_errors(cache_provider: ICacheProvider) -> None:
    with pytest.raises(TypeError, match="key"):
        await cache_provider.get_async(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        await cache_provider.set_async("", 1)
    with pytest.raises(ValueError, match="ttl"):
        await cache_provider.set_async("k", 1, ttl=-2)
    with pytest.raises(CacheSerializationError):
        await cache_provider.set_async("k", {1, 2})
    with pytest.raises(CacheSerializationError):
        await cache_provider.set_many_async({"a": 1, "b": object()})
    assert await cache_provider.get_size_async() == 0


async def test_many_concurrent_tasks(cache_provider: ICacheProvider) -> None:
    async def round_trip(i: int) -> Any:
        await cache_provider.set_async(f"k{i}", {"i": i})
        return await cache_provider.get_async(f"k{i}")

    results = await asyncio.gather(*(round_trip(i) for i in range(300)))
    assert results == [{"i": i} for i in range(300)]


def test_works_from_successive_event_loops(cache_provider: ICacheProvider) -> None:
    asyncio.run(cache_provider.set_async("k", "v"))
    assert asyncio.run(cache_provider.get_async("k")) == "v"
    assert asyncio.run(cache_provider.get_many_async(["k"])) == {"k": "v"}
    assert cache_provider.get("k") == "v"
