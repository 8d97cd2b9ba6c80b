"""Stale-while-revalidate, stale-if-error and XFetch through get_or_set, on every provider (issue 11).

An entry written by ``get_or_set`` with ``stale_ttl`` is kept that long past its TTL. Past its TTL a
plain ``get`` misses it; ``get_or_set`` serves it stale to every caller but the one refreshing it
(``stale_while_revalidate``), or when a refresh fails (``stale_if_error``). XFetch (``beta``)
refreshes a fresh entry early, by one caller.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from src.infrastructure.cache.compute.settings import ComputeSettings
from src.interfaces.llm.cache import ICacheProvider
from tests.conftest import ProviderFactory, TestClock

SWR: dict[str, Any] = {"stale_ttl": 5, "stale_while_revalidate": True}


class Model:
    """Answers ``"v<n>"`` on its n-th call, after ``seconds``; thread-safe; may be told to fail."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.calls = 0
        self.failing = False
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.calls += 1
            call = self.calls
        time.sleep(self.seconds)
        if self.failing:
            raise RuntimeError("model unavailable")
        return f"v{call}"


def _stale(cache: ICacheProvider, clock: TestClock, model: Model, **options: Any) -> None:
    """Write ``key`` through get_or_set (TTL 0.3 s), then let it go stale."""
    assert cache.get_or_set("key", model, ttl=0.3, **options) == "v1"
    clock.advance(0.45)


def test_a_stale_entry_is_a_miss_for_get_but_kept_for_get_or_set(
    cache_provider: ICacheProvider, clock: TestClock
) -> None:
    model = Model()
    _stale(cache_provider, clock, model, **SWR)
    assert cache_provider.get("key", "miss") == "miss"
    assert cache_provider.exists("key") is True  # still stored, for stale serving
    assert cache_provider.get_or_set("key", model, ttl=0.3, **SWR) == "v2"  # alone: it refreshes
    assert cache_provider.get("key") == "v2"


def test_while_one_caller_refreshes_every_other_caller_gets_the_stale_value(
    cache_provider: ICacheProvider, clock: TestClock
) -> None:
    model = Model(seconds=0.4)
    _stale(cache_provider, clock, model, **SWR)
    start = threading.Barrier(16)
    answers: list[tuple[str, float]] = []
    lock = threading.Lock()

    def agent() -> None:
        start.wait()
        began = time.monotonic()
        answer = cache_provider.get_or_set("key", model, ttl=30, **SWR)
        with lock:
            answers.append((answer, time.monotonic() - began))

    threads = [threading.Thread(target=agent) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert model.calls == 2  # the first write, and one refresh
    assert sorted(answer for answer, _ in answers) == ["v1"] * 15 + ["v2"]
    refresher_waited = max(waited for answer, waited in answers if answer == "v2")
    assert all(waited < refresher_waited for answer, waited in answers if answer == "v1")  # not held up
    assert cache_provider.get("key") == "v2"
    compute = cache_provider.get_stats()["compute"]
    assert compute["stale_served"] == 15


def test_stale_if_error_serves_the_stale_value_when_the_refresh_fails(
    cache_provider: ICacheProvider, clock: TestClock
) -> None:
    model = Model()
    options = {"stale_ttl": 5, "stale_if_error": True}
    _stale(cache_provider, clock, model, **options)
    model.failing = True
    started = time.monotonic()
    assert cache_provider.get_or_set("key", model, ttl=0.3, **options) == "v1"
    assert time.monotonic() - started < 1  # a stale entry is recomputed at once, not waited for
    assert cache_provider.get_stats()["compute"]["stale_served"] == 1
    assert cache_provider.get_stats()["compute"]["compute_errors"] == 1
    with pytest.raises(RuntimeError, match="model unavailable"):  # without stale_if_error it raises
        cache_provider.get_or_set("key", model, ttl=0.3, stale_ttl=5)
    model.failing = False
    assert cache_provider.get_or_set("key", model, ttl=0.3, **options) == "v4"


def test_past_the_stale_window_the_entry_is_gone(cache_provider: ICacheProvider, clock: TestClock) -> None:
    model = Model()
    options = {"stale_ttl": 0.3, "stale_while_revalidate": True, "stale_if_error": True}
    _stale(cache_provider, clock, model, **options)
    clock.advance(0.3)  # 0.75 s after the write: past TTL 0.3 s + stale 0.3 s
    assert cache_provider.exists("key") is False
    model.failing = True
    with pytest.raises(RuntimeError):  # nothing stale to serve any more
        cache_provider.get_or_set("key", model, ttl=0.3, **options)


def test_xfetch_refreshes_a_fresh_entry_early(cache_provider: ICacheProvider) -> None:
    model = Model(seconds=0.05)
    assert cache_provider.get_or_set("key", model, ttl=30, beta=1e6) == "v1"
    # The value took ~50 ms to compute; with this beta a refresh is due at once, well before expiry.
    assert cache_provider.get_or_set("key", model, ttl=30, beta=1e6) == "v2"
    assert cache_provider.get_stats()["compute"]["early_refreshes"] >= 1
    assert cache_provider.get_or_set("key", model, ttl=30) == "v2"  # beta 0: never early
    assert model.calls == 2


def test_a_failed_early_refresh_still_serves_the_fresh_value(cache_provider: ICacheProvider) -> None:
    model = Model(seconds=0.05)
    assert cache_provider.get_or_set("key", model, ttl=30, beta=1e6) == "v1"
    model.failing = True
    assert cache_provider.get_or_set("key", model, ttl=30, beta=1e6) == "v1"


def test_the_caches_own_compute_settings_apply_without_options(
    make_cache_provider: ProviderFactory, clock: TestClock
) -> None:
    cache = make_cache_provider(compute=ComputeSettings(stale_ttl=5, stale_if_error=True))
    model = Model()
    assert cache.get_or_set("key", model, ttl=0.3) == "v1"
    clock.advance(0.45)
    model.failing = True
    assert cache.get_or_set("key", model, ttl=0.3) == "v1"  # served stale by the cache's settings


def test_timed_entries_read_back_like_any_value(cache_provider: ICacheProvider) -> None:
    value = {"answer": [1, 2, (3, 4)], "tuple-keyed": {(1, "a"): None}}
    cache_provider.get_or_set("key", lambda: value, ttl=30, **SWR)
    expected = {"answer": [1, 2, [3, 4]], "tuple-keyed": {(1, "a"): None}}
    assert cache_provider.get("key") == expected
    assert cache_provider.get_many(["key", "other"]) == {"key": expected}
    assert cache_provider.get_or_set("key", lambda: "recomputed", ttl=30, **SWR) == expected
