"""complete() / complete_async(): one model call per prompt, answers and savings, on every provider.

Each test runs on the memory provider, Redis, and Redis behind the failure policy (``make_llm_cache``).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from src.infrastructure.cache.config.llm_config import ModelPrice
from tests.conftest import TestClock
from tests.llm.builders import StandInModel, chat_request, response_for
from tests.llm.conftest import MakeLLMCache


def test_the_first_request_calls_the_model_and_the_second_is_answered_from_the_cache(
    make_llm_cache: MakeLLMCache,
) -> None:
    cache, model = make_llm_cache(), StandInModel()

    first = cache.complete(chat_request(), model.complete)
    second = cache.complete(chat_request(), model.complete)

    assert first == second == response_for(model.text)
    assert model.calls == 1
    stats = cache.get_stats()
    assert (stats["requests"], stats["hits"], stats["misses"], stats["hit_rate"]) == (2, 1, 1, 0.5)


async def test_complete_async_shares_entries_with_complete(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel()

    first = await cache.complete_async(chat_request(), model.complete_async)
    second = cache.complete(chat_request(), model.complete)
    third = await cache.complete_async(chat_request(), model.complete)  # a sync call is fine too

    assert first == second == third
    assert model.calls == 1


def test_another_request_is_another_model_call(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel()

    cache.complete(chat_request(), model.complete)
    cache.complete(chat_request(temperature=0.5, seed=1), model.complete)
    cache.complete(chat_request(api_key="sk-other", user="bob", timeout=3), model.complete)  # deny-listed

    assert model.calls == 2


def test_thirty_two_threads_asking_at_once_make_one_model_call(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel(delay=0.3)
    start = threading.Barrier(32)

    def agent(_: int) -> dict[str, Any]:
        start.wait()
        return cache.complete(chat_request(), model.complete)

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(agent, range(32)))

    assert model.calls == 1
    assert all(answer == answers[0] for answer in answers)
    stats = cache.get_stats()
    assert (stats["hits"], stats["misses"], stats["errors"]) == (31, 1, 0)


async def test_thirty_two_tasks_asking_at_once_make_one_model_call(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel(delay=0.3)

    answers = await asyncio.gather(
        *(cache.complete_async(chat_request(), model.complete_async) for _ in range(32))
    )

    assert model.calls == 1
    assert all(answer == answers[0] for answer in answers)
    assert (cache.get_stats()["hits"], cache.get_stats()["misses"]) == (31, 1)


def test_a_failing_call_raises_stores_nothing_and_the_next_request_calls_again(
    make_llm_cache: MakeLLMCache,
) -> None:
    cache, model = make_llm_cache(), StandInModel()

    def failing() -> dict[str, Any]:
        raise ConnectionError("model endpoint reset the connection")

    with pytest.raises(ConnectionError, match="reset"):
        cache.complete(chat_request(), failing)
    assert cache.complete(chat_request(), model.complete) == response_for(model.text)

    assert model.calls == 1
    assert (cache.get_stats()["errors"], cache.get_stats()["misses"]) == (1, 1)


def test_sampled_requests_are_cached_by_default_and_bypass_calls_every_time(
    make_llm_cache: MakeLLMCache,
) -> None:
    sampled = chat_request(temperature=0.8)
    cached, bypassing = make_llm_cache(), make_llm_cache(sampled="bypass")
    model = StandInModel()

    for _ in range(3):
        cached.complete(sampled, model.complete)
    assert model.calls == 1

    for _ in range(3):
        bypassing.complete(sampled, model.complete)
        bypassing.complete(chat_request(), model.complete)  # not sampled: cached
    assert model.calls == 1 + 3 + 1
    stats = bypassing.get_stats()
    assert (stats["bypassed"], stats["misses"], stats["hits"]) == (3, 1, 2)
    assert stats["spent"]["model_calls"] == 4


def test_a_disabled_cache_calls_the_model_every_time_and_stores_nothing(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(enabled=False), StandInModel()

    for _ in range(3):
        cache.complete(chat_request(), model.complete)

    assert model.calls == 3
    assert cache.get_stats()["bypassed"] == 3
    assert cache.invalidate(chat_request()) is False


def test_invalidate_removes_an_answer_so_the_next_request_asks_again(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel()
    cache.complete(chat_request(), model.complete)

    assert cache.invalidate(chat_request()) is True
    assert cache.invalidate(chat_request()) is False
    cache.complete(chat_request(), model.complete)

    assert model.calls == 2


def test_an_sdk_response_is_stored_and_returned_as_its_model_dump(make_llm_cache: MakeLLMCache) -> None:
    class ChatCompletion:
        def model_dump(self, mode: str = "python") -> dict[str, Any]:
            assert mode == "json"
            return response_for("from the SDK")

    cache = make_llm_cache()

    assert cache.complete(chat_request(), ChatCompletion) == response_for("from the SDK")
    assert cache.complete(chat_request(), ChatCompletion) == response_for("from the SDK")


@pytest.mark.parametrize("returned", ["just text", 42, None])
def test_a_call_returning_no_response_is_a_type_error_and_stores_nothing(
    make_llm_cache: MakeLLMCache, returned: Any
) -> None:
    cache = make_llm_cache()

    with pytest.raises(TypeError, match="return an OpenAI-style dict"):
        cache.complete(chat_request(), lambda: returned)
    assert cache.complete(chat_request(), lambda: response_for("ok")) == response_for("ok")


def test_a_sync_complete_given_a_coroutine_says_to_use_complete_async(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel()

    with pytest.raises(TypeError, match="complete_async"):
        cache.complete(chat_request(), model.complete_async)


def test_a_bad_request_fails_before_the_model_is_called(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel()

    with pytest.raises(TypeError, match=r"request\['messages'\]"):
        cache.complete({"model": "gpt-4o"}, model.complete)
    assert model.calls == 0
    assert cache.get_stats()["requests"] == 0


def test_an_answer_too_large_to_store_is_still_returned_and_counted(make_llm_cache: MakeLLMCache) -> None:
    cache = make_llm_cache(provider_settings={"max_value_bytes": 1000})
    model = StandInModel(text="word " * 1000)

    first = cache.complete(chat_request(), model.complete)
    second = cache.complete(chat_request(), model.complete)

    assert first == second == response_for(model.text)
    assert model.calls == 2
    stats = cache.get_stats()
    assert (stats["store_errors"], stats["misses"], stats["errors"]) == (2, 2, 0)


def test_a_value_that_is_not_an_entry_is_replaced_by_a_fresh_answer(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel()
    cache._cache.set(cache.key(chat_request()), {"written": "by another program"})

    assert cache.complete(chat_request(), model.complete) == response_for(model.text)
    assert cache.complete(chat_request(), model.complete) == response_for(model.text)
    assert model.calls == 1


def test_an_answer_expires_with_the_ttl(make_llm_cache: MakeLLMCache, clock: TestClock) -> None:
    cache, model = make_llm_cache(ttl=0.3), StandInModel()
    cache.complete(chat_request(), model.complete)

    clock.advance(0.5)
    cache.complete(chat_request(), model.complete)

    assert model.calls == 2


def test_savings_count_tokens_time_and_money_per_model(make_llm_cache: MakeLLMCache) -> None:
    prices = {"gpt-4o-2024-08-06": ModelPrice(prompt_per_1m=2.5, completion_per_1m=10.0)}
    cache, model = make_llm_cache(prices=prices, currency="EUR"), StandInModel(delay=0.05)

    for _ in range(4):
        cache.complete(chat_request(), model.complete)  # 120 prompt, 30 completion tokens each
    cache.complete(chat_request(model="llama-3-70b"), lambda: response_for("hi", model="llama-3-70b"))

    stats = cache.get_stats()
    saved, spent = stats["saved"], stats["spent"]
    assert (saved["model_calls"], saved["prompt_tokens"], saved["completion_tokens"]) == (3, 360, 90)
    assert saved["cost"] == pytest.approx(3 * (120 * 2.5 + 30 * 10.0) / 1e6)
    call_seconds = stats["by_model"]["gpt-4o-2024-08-06"]["spent"]["model_seconds"]  # the one call
    assert 3 * 0.04 < saved["model_seconds"] <= 3 * call_seconds  # each hit: the call less the hit
    assert (spent["model_calls"], spent["prompt_tokens"]) == (2, 240)
    assert stats["currency"] == "EUR"
    assert stats["unpriced_models"] == ["llama-3-70b"]
    assert stats["by_model"]["gpt-4o-2024-08-06"]["hits"] == 3
    assert stats["by_model"]["llama-3-70b"]["misses"] == 1


def test_a_model_is_priced_by_the_name_that_answered_when_the_asked_one_has_no_price(
    make_llm_cache: MakeLLMCache,
) -> None:
    cache = make_llm_cache(prices={"gpt-4o-2024-08-06": ModelPrice(prompt_per_1m=1e6, completion_per_1m=0)})
    request = chat_request(model="gpt-4o")  # an alias; the response names the snapshot

    cache.complete(request, lambda: response_for("x", prompt=3))
    cache.complete(request, lambda: response_for("x", prompt=3))

    assert cache.get_stats()["saved"]["cost"] == pytest.approx(3.0)
    assert cache.get_stats()["unpriced_models"] == []


def test_counters_are_exact_under_concurrent_threads(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel(delay=0.01)
    requests = [chat_request(max_tokens=100 + index % 5) for index in range(200)]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda request: cache.complete(request, model.complete), requests))

    stats = cache.get_stats()
    assert model.calls == 5
    assert (stats["requests"], stats["hits"], stats["misses"]) == (200, 195, 5)
    assert (stats["saved"]["prompt_tokens"], stats["spent"]["prompt_tokens"]) == (195 * 120, 5 * 120)
