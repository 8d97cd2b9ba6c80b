"""The demo workload and the CLI's formatting, tested directly on a memory provider."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from src.cli import output
from src.cli.demo import (
    DEMO_NAMESPACE,
    DEMO_PRICE,
    DemoResult,
    StandInLLM,
    demo_cache,
    prompt_pool,
    prompt_stream,
    reset_keys,
    run_demo,
)
from src.infrastructure.cache.config.cache_config import MemoryCacheConfig
from src.infrastructure.cache.config.llm_config import LLMCacheConfig, ModelPrice
from src.infrastructure.cache.llm.response_cache import LLMResponseCache
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider

LLM = StandInLLM(latency=0)


@pytest.fixture
def provider() -> Iterator[MemoryCacheProvider]:
    provider = MemoryCacheProvider(MemoryCacheConfig(max_size=1000, default_ttl=60))
    yield provider
    provider.close()


@pytest.fixture
def cache(provider: MemoryCacheProvider) -> LLMResponseCache:
    return demo_cache(provider, LLMCacheConfig(), LLM)


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


def test_stand_in_llm_is_a_pure_function_of_the_request() -> None:
    request = LLM.request("hello")

    response = LLM.complete(request)

    assert response == LLM.answer(request) == StandInLLM(latency=0.5).answer(LLM.request("hello"))
    assert response != LLM.answer(LLM.request("hello!"))
    assert response["model"] == LLM.model
    usage = response["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert StandInLLM(model="other").answer(StandInLLM(model="other").request("hello")) != response


def test_stand_in_llm_really_waits() -> None:
    llm = StandInLLM(latency=0.01)

    start = time.perf_counter()
    llm.complete(llm.request("hello"))

    assert time.perf_counter() - start >= 0.01


def test_the_demo_cache_keeps_to_its_namespace_and_prices_the_stand_in_model(
    provider: MemoryCacheProvider,
) -> None:
    mine = ModelPrice(prompt_per_1m=1, completion_per_1m=1)
    cache = demo_cache(provider, LLMCacheConfig(namespace="services", prices={"gpt-4o": mine}), LLM)

    assert cache.key(LLM.request("p")).startswith(f"{DEMO_NAMESPACE}:v1:chat:")
    assert demo_cache(provider, LLMCacheConfig(), LLM).get_stats()["namespace"] == DEMO_NAMESPACE
    run_demo(cache, LLM, ["p", "p"])
    expected = DEMO_PRICE.cost(LLM.answer(LLM.request("p"))["usage"]["prompt_tokens"], 0)
    assert cache.get_stats()["saved"]["cost"] >= expected
    priced = demo_cache(provider, LLMCacheConfig(prices={LLM.model: mine}), LLM)
    run_demo(priced, LLM, ["q", "q"])
    assert priced.get_stats()["saved"]["cost"] < expected  # the configured price wins


# ---------------------------------------------------------------- running it


def test_run_demo_calls_the_llm_once_per_distinct_prompt(
    cache: LLMResponseCache, provider: MemoryCacheProvider
) -> None:
    stream = prompt_stream(prompt_pool(10), 80, seed=5)

    result = run_demo(cache, LLM, stream)

    assert result.requests == 80
    assert result.llm_calls == result.distinct_prompts == len(set(stream))
    assert result.hits == 80 - result.llm_calls
    assert result.mismatches == 0
    assert provider.get_size() == result.llm_calls
    stats = cache.get_stats()
    assert (stats["hits"], stats["misses"]) == (result.hits, result.llm_calls)
    assert stats["saved"]["prompt_tokens"] > 0
    assert stats["saved"]["cost"] > 0


def test_concurrent_agents_call_the_llm_once_per_distinct_prompt(
    cache: LLMResponseCache, provider: MemoryCacheProvider
) -> None:
    llm = StandInLLM(latency=0.05)
    stream = prompt_stream(prompt_pool(5), 64, seed=2)

    result = run_demo(cache, llm, stream, concurrency=16)

    assert result.llm_calls == result.distinct_prompts == len(set(stream))
    assert result.hits == 64 - result.llm_calls
    assert provider.get_stats()["compute"]["lock_waits"] > 0  # agents did ask at the same moment


def test_run_demo_counts_a_cached_record_that_differs(cache: LLMResponseCache) -> None:
    cache.complete(LLM.request("p"), lambda: {**LLM.answer(LLM.request("p")), "choices": []})

    result = run_demo(cache, LLM, ["p", "p"])

    assert (result.hits, result.llm_calls, result.mismatches) == (2, 0, 2)


def test_reset_keys_removes_the_demo_entries_and_nothing_else(
    cache: LLMResponseCache, provider: MemoryCacheProvider
) -> None:
    pool = prompt_pool(5)
    run_demo(cache, LLM, pool)
    provider.set("agent:someone-else", 1)

    assert reset_keys(cache, LLM, pool) == 5

    assert provider.get_size() == 1
    assert provider.get("agent:someone-else") == 1


def test_demo_result_derived_figures() -> None:
    result = DemoResult(requests=10, distinct_prompts=2, llm_calls=2, hits=8, elapsed=0.5, llm_seconds=0.4)

    assert result.hit_rate == 0.8
    assert result.mean_llm_latency == pytest.approx(0.2)
    assert result.uncached_seconds == pytest.approx(2.0)
    assert result.seconds_saved == pytest.approx(1.5)
    assert result.as_dict()["calls_saved"] == 8
    assert DemoResult().hit_rate == DemoResult().mean_llm_latency == 0.0


# ---------------------------------------------------------------- formatting and config source


def test_demo_report_shows_calls_tokens_and_money_saved(cache: LLMResponseCache) -> None:
    result = run_demo(cache, LLM, ["p", "q", "p", "p"])

    text = output.demo_report(result, "memory", cache.get_stats(), {"provider": "memory"}, "4 requests")

    saved = cache.get_stats()["saved"]
    tokens = saved["prompt_tokens"] + saved["completion_tokens"]
    assert f"tokens saved         {tokens:,} ({saved['prompt_tokens']:,} prompt" in text
    assert f"money saved          {saved['cost']:.4f} USD" in text
    assert "LLM-response cache (cache 'memory', namespace 'demo'): counters of this process" in text
    assert "memory get_stats():" in text


def test_llm_stats_report_lists_every_counter() -> None:
    stats = LLMResponseCache(MemoryCacheProvider(MemoryCacheConfig()), LLMCacheConfig()).get_stats()

    lines = output.llm_stats_report(stats).splitlines()

    assert lines[0].startswith("LLM-response cache (cache 'memory', namespace 'llm')")
    assert all(len(line) <= 80 for line in lines)
    labels = {line[2:18].strip() for line in lines if line.startswith("  ") and line[2] != " "}
    assert labels == {key.replace("_", " ") for key in stats} - {"cache", "namespace"}


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
