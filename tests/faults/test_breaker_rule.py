"""The breaker's rule, the same for every operation (issue 10): a call the backend answered resets
the count of consecutive failures; only unanswered calls add up to ``failure_threshold``.

Each failure here is real: the server is paused (SIGSTOP) for one read, which then times out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from tests.faults.conftest import FAILURE_THRESHOLD, MakeResilient, circuit
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis

#: Successful calls of each kind, sync and async: any of them must reset the count.
ANSWERED: dict[str, Callable[[ResilientCacheProvider], Any]] = {
    "exists": lambda p: p.exists("k"),
    "get_many": lambda p: p.get_many(["k", "j"]),
    "get_size": lambda p: p.get_size(),
    "delete": lambda p: p.delete("absent"),
    "exists_async": lambda p: asyncio.run(p.exists_async("k")),
    "get_many_async": lambda p: asyncio.run(p.get_many_async(["k"])),
    "get_size_async": lambda p: asyncio.run(p.get_size_async()),
}


def _one_failed_read(server: RedisServer, provider: ResilientCacheProvider) -> None:
    server.pause()
    try:
        assert provider.get("k", "fallback-miss") == "fallback-miss"  # timed out: a failure
    finally:
        server.resume()


def test_answered_calls_of_every_kind_reset_the_failure_count(
    redis_process: RedisServer, make_resilient: MakeResilient
) -> None:
    provider = make_resilient(redis_process.url)
    provider.set("k", "v")
    for name, answered in ANSWERED.items():
        _one_failed_read(redis_process, provider)
        assert circuit(provider)["consecutive_failures"] == 1, name
        answered(provider)
        assert circuit(provider)["consecutive_failures"] == 0, name
    assert circuit(provider)["state"] == "closed"
    assert circuit(provider)["times_opened"] == 0


def test_unanswered_calls_in_a_row_open_the_circuit(
    redis_process: RedisServer, make_resilient: MakeResilient
) -> None:
    provider = make_resilient(redis_process.url)
    provider.set("k", "v")
    for _ in range(FAILURE_THRESHOLD):
        _one_failed_read(redis_process, provider)
    assert circuit(provider)["state"] == "open"
    assert circuit(provider)["times_opened"] == 1
