"""TTL rules: None → default_ttl, positive → seconds (fractions honoured), 0 → never, bad → ValueError.

``clock.advance`` moves fake time for the memory provider and really sleeps for server-side expiry,
so the margins here are wide enough for a real clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from src.infrastructure.cache.validation import MAX_TTL
from src.interfaces.llm.cache import ICacheProvider
from tests.conftest import ProviderFactory, TestClock


def test_entry_expires_after_its_ttl(cache_provider: ICacheProvider, clock: TestClock) -> None:
    cache_provider.set("short", "v", ttl=0.3)
    clock.advance(0.1)
    assert cache_provider.get("short") == "v"
    clock.advance(0.35)
    assert cache_provider.get("short") is None
    assert cache_provider.exists("short") is False
    assert cache_provider.delete("short") is False


def test_fractional_ttl_is_not_truncated_to_whole_seconds(
    cache_provider: ICacheProvider, clock: TestClock
) -> None:
    cache_provider.set("k", "v", ttl=0.25)
    clock.advance(0.4)
    assert cache_provider.exists("k") is False  # a ttl truncated to 0 s would never expire; to 1 s, not yet


def test_sub_millisecond_ttl_still_expires(cache_provider: ICacheProvider, clock: TestClock) -> None:
    cache_provider.set("k", "v", ttl=0.0001)
    clock.advance(0.05)
    assert cache_provider.exists("k") is False


def test_ttl_zero_never_expires(make_cache_provider: ProviderFactory, clock: TestClock) -> None:
    provider = make_cache_provider(default_ttl=0.2)
    provider.set("forever", "v", ttl=0)
    provider.set("default", "v")
    clock.advance(0.35)
    assert provider.get("forever") == "v"
    assert provider.exists("default") is False


def test_none_ttl_uses_default_ttl(make_cache_provider: ProviderFactory, clock: TestClock) -> None:
    provider = make_cache_provider(default_ttl=0.2)
    provider.set("explicit-none", "v", ttl=None)
    provider.set("longer", "v", ttl=30)
    clock.advance(0.35)
    assert provider.exists("explicit-none") is False
    assert provider.get("longer") == "v"


def test_default_ttl_zero_means_no_expiry(make_cache_provider: ProviderFactory, clock: TestClock) -> None:
    provider = make_cache_provider(default_ttl=0)
    provider.set("k", "v")
    provider.set_many({"a": 1})
    clock.advance(0.3)
    assert provider.get_many(["k", "a"]) == {"k": "v", "a": 1}


def test_overwrite_replaces_ttl(cache_provider: ICacheProvider, clock: TestClock) -> None:
    cache_provider.set("k", "old", ttl=0.2)
    cache_provider.set("k", "new", ttl=0)
    cache_provider.set("j", "old", ttl=0)
    cache_provider.set("j", "new", ttl=0.2)
    clock.advance(0.35)
    assert cache_provider.get("k") == "new"
    assert cache_provider.exists("j") is False


def test_set_many_applies_ttl_to_every_entry(cache_provider: ICacheProvider, clock: TestClock) -> None:
    cache_provider.set_many({"a": 1, "b": 2}, ttl=0.2)
    cache_provider.set("c", 3, ttl=0)
    clock.advance(0.35)
    assert cache_provider.get_many(["a", "b", "c"]) == {"c": 3}


def test_expired_entries_are_not_counted_in_size(cache_provider: ICacheProvider, clock: TestClock) -> None:
    cache_provider.set_many({"a": 1, "b": 2}, ttl=0.2)
    cache_provider.set("c", 3)
    clock.advance(0.35)
    purged = cache_provider.cleanup_expired()
    assert purged in (0, 2)  # 0 where the backend expires entries by itself
    assert cache_provider.get_size() == 1


BAD_TTLS = [
    -1,
    -0.001,
    float("nan"),
    float("inf"),
    float("-inf"),
    "10",
    b"1",
    True,
    False,
    [1],
    object(),
    MAX_TTL + 1,
    1e16,  # finite, but past what Redis takes as an expiry
    10**30,
]


@pytest.mark.parametrize("ttl", BAD_TTLS, ids=repr)
def test_invalid_ttl_raises_value_error_and_writes_nothing(cache_provider: ICacheProvider, ttl: Any) -> None:
    with pytest.raises(ValueError, match="ttl"):
        cache_provider.set("k", "v", ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        cache_provider.set_many({"a": 1, "b": 2}, ttl=ttl)
    assert cache_provider.get_size() == 0


@pytest.mark.parametrize("ttl", [MAX_TTL, float(MAX_TTL), MAX_TTL - 0.5], ids=repr)
def test_the_longest_ttl_is_accepted_by_every_provider(cache_provider: ICacheProvider, ttl: float) -> None:
    cache_provider.set("k", "v", ttl=ttl)
    cache_provider.set_many({"a": 1}, ttl=ttl)
    assert cache_provider.get_many(["k", "a"]) == {"k": "v", "a": 1}


@pytest.mark.mixed_colours
async def test_a_bad_ttl_in_a_concurrent_batch_fails_only_its_caller(cache_provider: ICacheProvider) -> None:
    """Concurrent set_async calls may share one command (Redis): one caller's bad TTL must be
    refused before it joins, so its neighbours' writes succeed."""
    results = await asyncio.gather(
        cache_provider.set_async("before", 1),
        cache_provider.set_async("bad", 2, ttl=1e16),
        cache_provider.set_async("after", 3),
        return_exceptions=True,
    )
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], ValueError)
    assert cache_provider.get_many(["before", "bad", "after"]) == {"before": 1, "after": 3}


def test_integer_and_float_ttls_are_both_accepted(cache_provider: ICacheProvider) -> None:
    cache_provider.set("int", 1, ttl=30)
    cache_provider.set("float", 2, ttl=30.5)
    assert cache_provider.get_many(["int", "float"]) == {"int": 1, "float": 2}
