"""The failure policy's metrics through a real outage: a redis-server of the test's own, stopped and
started again, under the provider as services get it."""

from __future__ import annotations

import pytest

from src.infrastructure.cache.metrics.timed import TimedCacheProvider
from tests.faults.conftest import fast_failing, settle, wrapped
from tests.metrics.readings import by_attribute, collect, private_metrics, value
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis

NAME = {"cache.name": "sessions"}
ACTIVE = {**NAME, "cache.on_error": "fallback"}


def test_an_outage_shows_as_fallback_active_then_as_invalidations_replayed(
    redis_process: RedisServer,
) -> None:
    metrics, reader = private_metrics()
    provider = wrapped(fast_failing(redis_process.url))
    cache = metrics.instrument(provider, "sessions")
    assert isinstance(cache, TimedCacheProvider)
    cache.set("a", 1)
    assert cache.get("a") == 1

    before = collect(reader)
    assert value(before, "agent_cache.fallback.active", ACTIVE) == 0
    assert value(before, "agent_cache.circuit.openings", NAME) == 0
    assert value(before, "agent_cache.fallback.calls", NAME) == 0
    assert by_attribute(before, "agent_cache.fallback.requests", "cache.result") == {"hit": 0, "miss": 0}

    redis_process.kill()
    cache.set("b", 2)  # a failed write opens the circuit at once; the fallback takes the value
    assert cache.get("b") == 2  # a fallback hit
    assert cache.get("never") is None  # a fallback miss

    during = collect(reader)
    stats = provider.get_stats()
    assert value(during, "agent_cache.fallback.active", ACTIVE) == 1
    assert value(during, "agent_cache.circuit.openings", NAME) == 1
    degraded = stats["resilience"]["degraded_calls"]
    assert value(during, "agent_cache.fallback.calls", NAME) == degraded >= 3
    assert by_attribute(during, "agent_cache.fallback.requests", "cache.result") == {"hit": 1, "miss": 1}
    errors = {
        dict(attributes)["error.type"]: amount
        for attributes, amount in during["agent_cache.requests"].items()
        if ("cache.result", "error") in attributes
    }
    assert errors == stats["errors_by_kind"]
    assert sum(errors.values()) >= 1
    failed_set = {**NAME, "cache.operation": "set"}
    assert value(during, "agent_cache.operation.duration", failed_set) == 2  # a/b: the fallback answered b

    redis_process.restart()
    settle(provider)

    after = collect(reader)
    assert value(after, "agent_cache.fallback.active", ACTIVE) == 0
    replayed = provider.get_stats()["resilience"]["invalidations_replayed"]
    assert value(after, "agent_cache.invalidations.replayed", NAME) == replayed >= 1
