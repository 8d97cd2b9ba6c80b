"""LangChainCache: LangChain's own standard cache suites on the memory and the Redis provider, and
what those suites leave out - another llm_string, chat generations with tool calls, chunks, TTL,
concurrent use, values that are not ours, and a real LangChain chat model using it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain_core.caches import BaseCache
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk
from langchain_tests.integration_tests import AsyncCacheTestSuite, SyncCacheTestSuite

from src.infrastructure.cache.llm.langchain import LangChainCache
from src.interfaces.llm.cache import ICacheProvider
from tests.conftest import TestClock

LANGCHAIN_PROVIDERS = ["memory", "redis"]


@pytest.fixture(params=LANGCHAIN_PROVIDERS)
def provider(request: pytest.FixtureRequest) -> ICacheProvider:
    """A fresh (empty) provider of each kind; the factories close and clear them at teardown."""
    make: Callable[..., ICacheProvider] = request.getfixturevalue(f"make_{request.param}_provider")
    return make()


class TestLangChainStandardSync(SyncCacheTestSuite):
    """LangChain's ``SyncCacheTestSuite``, unchanged, against each provider."""

    @pytest.fixture
    def cache(self, provider: ICacheProvider) -> BaseCache:
        return LangChainCache(provider)


class TestLangChainStandardAsync(AsyncCacheTestSuite):
    """LangChain's ``AsyncCacheTestSuite``, unchanged, against each provider."""

    @pytest.fixture
    async def cache(self, provider: ICacheProvider) -> BaseCache:
        return LangChainCache(provider)


# ---------------------------------------------------------------- what the suites leave out


def _tool_call_generation() -> ChatGeneration:
    message = AIMessage(
        content="",
        id="run-42",
        tool_calls=[
            {
                "name": "get_incident",
                "args": {"id": "INC-101", "verbose": True},
                "id": "call_1",
                "type": "tool_call",
            },
            {"name": "page_oncall", "args": {"team": "payments"}, "id": "call_2", "type": "tool_call"},
        ],
        usage_metadata={"input_tokens": 120, "output_tokens": 30, "total_tokens": 150},
        response_metadata={"model_name": "gpt-4o-2024-08-06", "finish_reason": "tool_calls"},
        additional_kwargs={"refusal": None},
    )
    return ChatGeneration(message=message, generation_info={"finish_reason": "tool_calls"})


def test_another_llm_string_misses(provider: ICacheProvider) -> None:
    cache = LangChainCache(provider)
    cache.update("prompt", "model=gpt-4o temperature=0", [Generation(text="a")])

    assert cache.lookup("prompt", "model=gpt-4o temperature=0.7") is None
    assert cache.lookup("prompt", "model=gpt-4o-mini temperature=0") is None
    assert cache.lookup("prompt!", "model=gpt-4o temperature=0") is None
    assert cache.key("a", "bc") != cache.key("ab", "c")  # no delimiter to collide on


def test_chat_generations_with_tool_calls_round_trip(provider: ICacheProvider) -> None:
    cache = LangChainCache(provider)
    generations = [_tool_call_generation(), ChatGeneration(message=AIMessage(content="plain"))]

    cache.update("p", "llm", generations)
    found = cache.lookup("p", "llm")

    assert found == generations
    assert found is not None
    assert isinstance(found[0], ChatGeneration)
    message = found[0].message
    assert isinstance(message, AIMessage)
    assert [call["args"] for call in message.tool_calls] == [
        {"id": "INC-101", "verbose": True},
        {"team": "payments"},
    ]
    assert message.usage_metadata == {"input_tokens": 120, "output_tokens": 30, "total_tokens": 150}


async def test_chunks_round_trip_as_chunks(provider: ICacheProvider) -> None:
    cache = LangChainCache(provider)
    generations = [
        ChatGenerationChunk(message=AIMessageChunk(content="par"), generation_info={"i": 0}),
        GenerationChunk(text="tial"),
    ]

    await cache.aupdate("p", "llm", generations)

    assert await cache.alookup("p", "llm") == generations
    assert [type(generation) for generation in await cache.alookup("p", "llm") or []] == [
        ChatGenerationChunk,
        GenerationChunk,
    ]


def test_entries_expire_with_the_ttl(provider: ICacheProvider, clock: TestClock) -> None:
    cache = LangChainCache(provider, ttl=0.3)
    cache.update("p", "llm", [Generation(text="soon gone")])
    assert cache.lookup("p", "llm") == [Generation(text="soon gone")]

    clock.advance(0.5)

    assert cache.lookup("p", "llm") is None


def test_concurrent_threads_each_read_their_own_entries(provider: ICacheProvider) -> None:
    cache = LangChainCache(provider)

    def worker(index: int) -> bool:
        generations = [Generation(text=f"answer {index}", generation_info={"n": index})]
        for _ in range(20):
            cache.update(f"prompt {index}", "llm", generations)
            if cache.lookup(f"prompt {index}", "llm") != generations:
                return False
        return True

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(worker, range(32)))


async def test_concurrent_tasks_each_read_their_own_entries(provider: ICacheProvider) -> None:
    cache = LangChainCache(provider)

    async def worker(index: int) -> bool:
        generations = [Generation(text=f"answer {index}")]
        await cache.aupdate(f"prompt {index}", "llm", generations)
        return await cache.alookup(f"prompt {index}", "llm") == generations

    assert all(await asyncio.gather(*(worker(index) for index in range(64))))


def test_generations_the_cache_cannot_hold_are_not_stored_and_do_not_raise(
    provider: ICacheProvider, caplog: pytest.LogCaptureFixture
) -> None:
    cache = LangChainCache(provider)

    with caplog.at_level(logging.WARNING):
        cache.update("p", "llm", [Generation(text="x", generation_info={"seen": {1, 2}})])

    assert cache.lookup("p", "llm") is None
    assert "not stored" in caplog.text


def test_a_value_that_is_not_ours_is_a_miss(provider: ICacheProvider) -> None:
    cache = LangChainCache(provider)
    provider.set(cache.key("p", "llm"), {"something": "else"})

    assert cache.lookup("p", "llm") is None


def test_clear_empties_the_providers_namespace(provider: ICacheProvider) -> None:
    cache = LangChainCache(provider)
    cache.update("p", "llm", [Generation(text="x")])

    cache.clear()

    assert cache.lookup("p", "llm") is None
    assert provider.get_size() == 0


def test_a_langchain_chat_model_answers_from_the_cache(provider: ICacheProvider) -> None:
    first = _tool_call_generation().message
    model = FakeMessagesListChatModel(
        responses=[first, AIMessage(content="a different answer")], cache=LangChainCache(provider)
    )
    question = [HumanMessage(content="What is open?")]

    answers = [model.invoke(question), model.invoke(question)]

    assert answers[0].tool_calls == answers[1].tool_calls == first.tool_calls  # type: ignore[attr-defined]
    assert answers[1].content == ""  # the second answer is the cached one, not the next response
    assert model.invoke([HumanMessage(content="Another question")]).content == "a different answer"


def test_a_provider_is_required() -> None:
    with pytest.raises(TypeError, match="ICacheProvider"):
        LangChainCache("redis://localhost")  # type: ignore[arg-type]
