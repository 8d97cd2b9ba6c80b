"""agent-cache's metrics on a memory cache, read through an in-memory OpenTelemetry reader.

Each test has a MeterProvider of its own: the process's global one is never set here, so no other
test's caches are timed.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from opentelemetry.metrics import NoOpMeterProvider

from src.infrastructure.cache.config.cache_config import MemoryCacheConfig
from src.infrastructure.cache.config.llm_config import LLMCacheConfig, ModelPrice
from src.infrastructure.cache.llm.response_cache import LLMResponseCache
from src.infrastructure.cache.metrics.instruments import CacheMetrics
from src.infrastructure.cache.metrics.names import OBSERVED
from src.infrastructure.cache.metrics.timed import TimedCacheProvider
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider
from src.interfaces.llm.cache import CacheSerializationError
from tests.llm.builders import StandInModel, chat_request
from tests.metrics.readings import by_attribute, collect, private_metrics, value

DURATION = "agent_cache.operation.duration"


def memory(**settings: Any) -> MemoryCacheProvider:
    return MemoryCacheProvider(MemoryCacheConfig(**settings))


def of(name: str, **attributes: str) -> dict[str, str]:
    return {"cache.name": name, **attributes}


def test_a_cache_is_timed_per_operation_when_an_sdk_records() -> None:
    metrics, reader = private_metrics()
    cache = metrics.instrument(memory(), "sessions")

    cache.set("a", 1)
    cache.get("a")
    cache.get("nope")
    cache.get_many(["a", "b"])
    cache.delete("a")

    assert isinstance(cache, TimedCacheProvider)
    counts = by_attribute(collect(reader), DURATION, "cache.operation")
    assert counts == {"set": 1, "get": 2, "get_many": 1, "delete": 1}


async def test_async_twins_are_timed_under_the_same_operation_names() -> None:
    metrics, reader = private_metrics()
    cache = metrics.instrument(memory(), "sessions")

    await cache.set_async("a", 1)
    await cache.get_async("a")
    await cache.set_many_async({"b": 2, "c": 3})
    await cache.delete_many_async(["b", "c"])
    await cache.exists_async("a")

    counts = by_attribute(collect(reader), DURATION, "cache.operation")
    assert counts == {"set": 1, "get": 1, "set_many": 1, "delete_many": 1, "exists": 1}


def test_get_or_set_is_timed_whole_and_its_own_reads_and_writes_too() -> None:
    metrics, reader = private_metrics()
    cache = metrics.instrument(memory(), "llm")

    assert cache.get_or_set("k", lambda: "v") == "v"
    assert cache.get_or_set("k", lambda: "other") == "v"

    counts = by_attribute(collect(reader), DURATION, "cache.operation")
    # A miss reads, re-checks with exists (inside the flight, uncounted as a lookup) and writes once;
    # a hit reads once.
    assert counts == {"get_or_set": 2, "get": 2, "exists": 1, "set": 1}


def test_a_call_that_raises_is_timed_with_its_error_type() -> None:
    metrics, reader = private_metrics()
    cache = metrics.instrument(memory(), "sessions")

    with pytest.raises(CacheSerializationError):
        cache.set("k", object())

    collected = collect(reader)
    failed = of("sessions", **{"cache.operation": "set", "error.type": "CacheSerializationError"})
    assert value(collected, DURATION, failed) == 1


def test_observed_counters_equal_get_stats() -> None:
    metrics, reader = private_metrics()
    cache = metrics.instrument(memory(max_size=2), "small")
    for key in ("a", "b", "c"):  # the third evicts the first
        cache.set(key, key)
    cache.get("b")
    cache.get("a")
    cache.delete("c")
    cache.get_or_set("d", lambda: 1)

    collected = collect(reader)
    stats = cache.get_stats()
    requests = by_attribute(collected, "agent_cache.requests", "cache.result")
    assert requests == {"hit": stats["hits"], "miss": stats["misses"], "stale": 0}
    assert (stats["hits"], stats["misses"]) == (1, 2)  # get_or_set's miss is counted once
    assert value(collected, "agent_cache.sets", of("small")) == stats["sets"] == 4
    assert value(collected, "agent_cache.deletes", of("small")) == stats["deletes"] == 1
    assert value(collected, "agent_cache.evictions", of("small")) == stats["evictions"] == 1
    assert value(collected, "agent_cache.entries", of("small")) == stats["size"] == 2
    computations = by_attribute(collected, "agent_cache.compute.computations", "cache.result")
    assert computations == {"ok": 1, "error": 0}
    for name in ("lock_waits", "lock_timeouts", "early_refreshes"):
        assert value(collected, f"agent_cache.compute.{name}", of("small")) == 0


def test_errors_are_requests_with_result_error_by_kind() -> None:
    metrics, reader = private_metrics()
    cache = MemoryCacheProvider()
    cache.set("k", 1)
    cache._cache["k"] = (b"\xffnot ours", 0)  # a payload agent-cache did not write: a counted error
    metrics.observe("foreign", cache)

    assert cache.get("k") is None

    collected = collect(reader)
    errors = {
        dict(attributes)["error.type"]: amount
        for attributes, amount in collected["agent_cache.requests"].items()
        if ("cache.result", "error") in attributes
    }
    assert errors == cache.get_stats()["errors_by_kind"]
    assert sum(errors.values()) == 1


def test_units_and_instruments_are_those_of_the_table() -> None:
    metrics, reader = private_metrics()
    cache = metrics.instrument(memory(), "m")  # held: the metrics hold caches weakly
    cache.set("k", 1)

    data = reader.get_metrics_data()
    assert data is not None
    units = {
        metric.name: metric.unit
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    for spec in OBSERVED:
        if spec.name in units:
            assert units[spec.name] == spec.unit
    assert units[DURATION] == "s"


def test_without_a_recording_sdk_the_cache_is_returned_as_it_is_and_still_observed() -> None:
    metrics = CacheMetrics(NoOpMeterProvider())
    cache = memory()

    assert metrics.instrument(cache, "plain") is cache
    assert metrics.observed_names() == ["plain"]


def test_a_cache_gone_is_no_longer_observed() -> None:
    metrics, reader = private_metrics()
    metrics.instrument(memory(), "short-lived")
    gc.collect()  # compute-once refers back to its cache: a cycle, freed by the collector

    assert metrics.observed_names() == []
    assert "agent_cache.requests" not in collect(reader)


def test_a_closed_cache_is_no_longer_observed() -> None:
    metrics, _reader = private_metrics()
    cache = metrics.instrument(memory(), "closing")

    cache.close()

    assert metrics.observed_names() == []


def test_the_cache_registered_last_under_a_name_is_observed() -> None:
    metrics, reader = private_metrics()
    first = metrics.instrument(memory(), "shared")
    second = metrics.instrument(memory(), "shared")
    first.set("k", 1)
    second.set("k", 1)
    second.set("j", 1)

    assert value(collect(reader), "agent_cache.sets", of("shared")) == 2

    second.close()
    assert value(collect(reader), "agent_cache.sets", of("shared")) == 1


def test_a_failing_get_stats_leaves_the_other_caches_observed() -> None:
    class Broken:
        def get_stats(self) -> dict[str, Any]:
            raise RuntimeError("no stats today")

    metrics, reader = private_metrics()
    broken = Broken()
    metrics.observe("broken", broken)
    fine = metrics.instrument(memory(), "fine")  # held: the metrics hold caches weakly
    fine.set("k", 1)

    collected = collect(reader)

    assert value(collected, "agent_cache.sets", of("fine")) == 1
    assert all(("cache.name", "broken") not in attributes for attributes in collected["agent_cache.sets"])


def test_one_collection_reads_get_stats_once_per_cache() -> None:
    class Counting(MemoryCacheProvider):
        reads = 0

        def get_stats(self) -> dict[str, Any]:
            Counting.reads += 1
            return super().get_stats()

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    metrics = CacheMetrics(MeterProvider(metric_readers=[reader]))  # the default snapshot reuse
    cache = Counting()
    metrics.instrument(cache, "counted")

    collect(reader)

    assert Counting.reads == 1


def test_the_llm_cache_is_exported_by_model_beside_the_cache_it_stores_in() -> None:
    metrics, reader = private_metrics()
    provider = metrics.instrument(memory(), "llm_responses")
    price = ModelPrice(prompt_per_1m=2.5, completion_per_1m=10.0)
    llm = LLMResponseCache(provider, LLMCacheConfig(prices={"gpt-4o-2024-08-06": price}))
    metrics.observe("llm_responses", llm, kind="llm")
    model = StandInModel()

    for _ in range(4):  # one miss, three hits
        llm.complete(chat_request(), model.complete)

    collected = collect(reader)

    by_model = of("llm_responses", **{"gen_ai.request.model": "gpt-4o-2024-08-06"})
    saved = llm.get_stats()["saved"]
    results = by_attribute(collected, "agent_cache.llm.requests", "cache.result")
    assert results == {"hit": 3, "miss": 1, "bypassed": 0, "error": 0}
    assert value(collected, "agent_cache.llm.tokens_saved", {**by_model, "gen_ai.token.type": "input"}) == 360
    assert value(collected, "agent_cache.llm.tokens_saved", {**by_model, "gen_ai.token.type": "output"}) == 90
    assert value(collected, "agent_cache.llm.cost_saved", by_model) == pytest.approx(3 * 0.0006)
    assert value(collected, "agent_cache.llm.time_saved", by_model) == saved["model_seconds"]
    # The cache under it is still observed under the same name, for its own lookups only.
    assert value(collected, "agent_cache.requests", of("llm_responses", **{"cache.result": "hit"})) == 3
    assert model.calls == 1


def test_a_near_cache_section_is_exported_as_the_near_metrics() -> None:
    class WithNear(MemoryCacheProvider):  # the shape docs/metrics.md reserves for the near cache (issue 14)
        def get_stats(self) -> dict[str, Any]:
            near = {"hits": 7, "misses": 2, "invalidations": 4, "flushes": 1, "size": 5}
            return {**super().get_stats(), "near": near}

    metrics, reader = private_metrics()
    cache = metrics.instrument(WithNear(), "hot")  # held: the metrics hold caches weakly

    collected = collect(reader)

    assert by_attribute(collected, "agent_cache.near.requests", "cache.result") == {"hit": 7, "miss": 2}
    assert value(collected, "agent_cache.near.invalidations", of("hot")) == 4
    assert value(collected, "agent_cache.near.flushes", of("hot")) == 1
    assert value(collected, "agent_cache.near.entries", of("hot")) == 5
    cache.close()
