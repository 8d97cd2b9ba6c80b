"""The demo workload and the CLI's formatting, tested directly on a memory provider."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from src.cli import output
from src.cli.demo import (
    KEY_PREFIX,
    DemoResult,
    StandInLLM,
    cache_key,
    prompt_pool,
    prompt_stream,
    reset_keys,
    run_demo,
)
from src.infrastructure.cache.config.cache_config import MemoryCacheConfig
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider


@pytest.fixture
def cache() -> Iterator[MemoryCacheProvider]:
    provider = MemoryCacheProvider(MemoryCacheConfig(max_size=1000, default_ttl=60))
    yield provider
    provider.close()


# ---------------------------------------------------------------- the workload


def test_prompt_pool_is_distinct_and_stable() -> None:
    pool = prompt_pool(60)

    assert len(set(pool)) == 60
    assert pool == prompt_pool(60)
    assert prompt_pool(10) == pool[:10]


def test_prompt_stream_is_deterministic_given_a_seed() -> None:
    pool = prompt_pool(20)

    assert prompt_stream(pool, 200, seed=3) == prompt_stream(pool, 200, seed=3)
    assert prompt_stream(pool, 200, seed=3) != prompt_stream(pool, 200, seed=4)


def test_prompt_stream_is_skewed_towards_the_first_prompts() -> None:
    pool = prompt_pool(50)

    counts = Counter(prompt_stream(pool, 5000, seed=1))

    assert set(counts) <= set(pool)
    assert counts[pool[0]] > 5 * counts[pool[-1]]
    assert counts.most_common(1)[0][0] == pool[0]


def test_stand_in_llm_is_a_pure_function_of_the_prompt() -> None:
    llm = StandInLLM(latency=0)

    record = llm.complete("hello")

    assert record == llm.answer("hello") == StandInLLM(latency=0.5).answer("hello")
    assert record != llm.answer("hello!")
    assert record["model"] == llm.model
    assert (
        record["usage"]["total_tokens"]
        == record["usage"]["prompt_tokens"] + record["usage"]["completion_tokens"]
    )
    assert StandInLLM(model="other").answer("hello") != record


def test_stand_in_llm_really_waits() -> None:
    llm = StandInLLM(latency=0.01)

    start = time.perf_counter()
    llm.complete("hello")

    assert time.perf_counter() - start >= 0.01


def test_cache_key_is_stable_namespaced_and_depends_on_model_and_prompt() -> None:
    key = cache_key("m", "p")

    assert key == cache_key("m", "p")
    assert key.startswith(KEY_PREFIX)
    assert len(key) == len(KEY_PREFIX) + 64
    assert len({key, cache_key("m2", "p"), cache_key("m", "p2"), cache_key("m\0", "p")}) == 4


# ---------------------------------------------------------------- running it


def test_run_demo_calls_the_llm_once_per_distinct_prompt(cache: MemoryCacheProvider) -> None:
    llm = StandInLLM(latency=0)
    stream = prompt_stream(prompt_pool(10), 80, seed=5)

    result = run_demo(cache, llm, stream)

    assert result.requests == 80
    assert result.llm_calls == result.distinct_prompts == len(set(stream))
    assert result.hits == 80 - result.llm_calls
    assert result.mismatches == 0
    assert cache.get_size() == result.llm_calls
    assert cache.get(cache_key(llm.model, stream[0])) == llm.answer(stream[0])


def test_concurrent_agents_call_the_llm_once_per_distinct_prompt(cache: MemoryCacheProvider) -> None:
    llm = StandInLLM(latency=0.05)
    stream = prompt_stream(prompt_pool(5), 64, seed=2)

    result = run_demo(cache, llm, stream, concurrency=16)

    assert result.llm_calls == result.distinct_prompts == len(set(stream))
    assert result.hits == 64 - result.llm_calls
    assert cache.get_stats()["compute"]["lock_waits"] > 0  # agents did ask at the same moment


def test_run_demo_counts_a_cached_record_that_differs(cache: MemoryCacheProvider) -> None:
    llm = StandInLLM(latency=0)
    cache.set(cache_key(llm.model, "p"), {"text": "stale"})

    result = run_demo(cache, llm, ["p", "p"])

    assert (result.hits, result.llm_calls, result.mismatches) == (2, 0, 2)


def test_reset_keys_removes_the_demo_entries_and_nothing_else(cache: MemoryCacheProvider) -> None:
    llm = StandInLLM(latency=0)
    pool = prompt_pool(5)
    run_demo(cache, llm, pool)
    cache.set("agent:someone-else", 1)

    assert reset_keys(cache, llm, pool) == 5

    assert cache.get_size() == 1
    assert cache.get("agent:someone-else") == 1


def test_demo_result_derived_figures() -> None:
    result = DemoResult(requests=10, distinct_prompts=2, llm_calls=2, hits=8, elapsed=0.5, llm_seconds=0.4)

    assert result.hit_rate == 0.8
    assert result.mean_llm_latency == pytest.approx(0.2)
    assert result.uncached_seconds == pytest.approx(2.0)
    assert result.seconds_saved == pytest.approx(1.5)
    assert result.as_dict()["calls_saved"] == 8
    assert DemoResult().hit_rate == DemoResult().mean_llm_latency == 0.0


# ---------------------------------------------------------------- formatting and config source


def test_one_line_collapses_newlines() -> None:
    assert output.one_line("bad:\n  line 2\n\tline 3") == "bad: line 2 line 3"


def test_health_report_marks_down_providers_and_shows_extras() -> None:
    text = output.health_report(
        [
            {"provider": "memory", "healthy": True, "detail": "in-process"},
            {"provider": "redis", "healthy": False, "detail": "refused", "latency_ms": 1.5},
        ]
    )

    assert text.splitlines() == ["memory  ok    in-process", "redis   DOWN  refused  (latency_ms=1.5)"]
