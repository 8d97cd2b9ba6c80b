"""stream() / stream_async(): chunks live to the first caller, stored only when complete, replayed
the same; concurrent callers of one request wait and replay (one model call). On every provider.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.llm.builders import StandInModel, chat_request, chunks_for
from tests.llm.conftest import MakeLLMCache

TEXT = "All six incidents are open; two are sev 0."


async def collect(stream: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk async for chunk in stream]


def test_a_stored_stream_replays_the_same_chunks(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel(TEXT)

    first = list(cache.stream(chat_request(), model.stream))
    replay = list(cache.stream(chat_request(), model.stream))

    assert first == replay == chunks_for(TEXT)
    assert model.calls == 1
    assert (cache.get_stats()["hits"], cache.get_stats()["misses"]) == (1, 1)


async def test_an_async_stream_replays_the_same_chunks_in_either_colour(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel(TEXT)

    first = await collect(cache.stream_async(chat_request(), model.stream_async))
    replay_sync = list(cache.stream(chat_request(), model.stream))
    replay_async = await collect(cache.stream_async(chat_request(), model.stream_async))

    assert first == replay_sync == replay_async == chunks_for(TEXT)
    assert model.calls == 1


def test_the_first_caller_gets_each_chunk_as_it_arrives(make_llm_cache: MakeLLMCache) -> None:
    cache = make_llm_cache()
    read_first = threading.Event()

    def model() -> Iterator[dict[str, Any]]:
        chunks = chunks_for(TEXT)
        yield chunks[0]
        if not read_first.wait(5):  # the caller must have had chunk 0 before chunk 1 exists
            raise AssertionError("the first chunk was not passed on before the stream went on")
        yield from chunks[1:]

    stream = cache.stream(chat_request(), model)
    first = next(stream)
    read_first.set()

    assert [first, *stream] == chunks_for(TEXT)
    assert list(cache.stream(chat_request(), model)) == chunks_for(TEXT)  # stored


async def test_the_first_async_caller_gets_each_chunk_as_it_arrives(make_llm_cache: MakeLLMCache) -> None:
    cache = make_llm_cache()
    read_first = asyncio.Event()

    async def model() -> AsyncIterator[dict[str, Any]]:
        chunks = chunks_for(TEXT)
        yield chunks[0]
        await asyncio.wait_for(read_first.wait(), 5)
        for chunk in chunks[1:]:
            yield chunk

    stream = cache.stream_async(chat_request(), model)
    first = await anext(stream)
    read_first.set()

    assert [first, *await collect(stream)] == chunks_for(TEXT)


def _failing_model(after: int, calls: list[int]) -> Any:
    def model() -> Iterator[dict[str, Any]]:
        calls.append(1)
        yield from chunks_for(TEXT)[:after]
        raise ConnectionError("stream cut by the server")

    return model


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_the_model_stream_sees_the_callers_context(make_llm_cache: MakeLLMCache) -> None:
    cache, seen = make_llm_cache(), []

    def model() -> Iterator[dict[str, Any]]:
        seen.append(REQUEST_ID.get())  # a tracing span, a request id: what the caller set
        yield from chunks_for(TEXT)

    token = REQUEST_ID.set("req-42")
    try:
        list(cache.stream(chat_request(), model))
    finally:
        REQUEST_ID.reset(token)

    assert seen == ["req-42"]


def test_a_failed_stream_passes_its_chunks_then_its_error_and_stores_nothing(
    make_llm_cache: MakeLLMCache,
) -> None:
    cache, model = make_llm_cache(), StandInModel(TEXT)
    calls: list[int] = []
    received: list[dict[str, Any]] = []

    stream = cache.stream(chat_request(), _failing_model(3, calls))
    received.extend(next(stream) for _ in range(3))
    with pytest.raises(ConnectionError, match="cut"):
        next(stream)

    assert received == chunks_for(TEXT)[:3]
    assert not cache._cache.exists(cache.key(chat_request(), stream=True))
    assert list(cache.stream(chat_request(), model.stream)) == chunks_for(TEXT)
    assert model.calls == 1
    assert (cache.get_stats()["errors"], cache.get_stats()["misses"]) == (1, 1)


async def test_a_failed_async_stream_stores_nothing(make_llm_cache: MakeLLMCache) -> None:
    cache = make_llm_cache()

    async def model() -> AsyncIterator[dict[str, Any]]:
        yield chunks_for(TEXT)[0]
        raise ConnectionError("stream cut by the server")

    with pytest.raises(ConnectionError):
        await collect(cache.stream_async(chat_request(), model))
    assert not cache._cache.exists(cache.key(chat_request(), stream=True))


def test_a_stream_its_caller_stops_reading_is_closed_and_stores_nothing(make_llm_cache: MakeLLMCache) -> None:
    cache = make_llm_cache()
    closed = threading.Event()

    def model() -> Iterator[dict[str, Any]]:
        try:
            for chunk in chunks_for(TEXT):
                time.sleep(0.02)
                yield chunk
        finally:
            closed.set()

    stream = cache.stream(chat_request(), model)
    assert next(stream) == chunks_for(TEXT)[0]
    stream.close()

    assert closed.wait(5)  # the model's stream was closed (at its next chunk)
    time.sleep(0.1)
    assert not cache._cache.exists(cache.key(chat_request(), stream=True))


async def test_an_async_stream_its_caller_leaves_is_closed_at_once_and_stores_nothing(
    make_llm_cache: MakeLLMCache,
) -> None:
    cache = make_llm_cache()
    closed = asyncio.Event()

    async def model() -> AsyncIterator[dict[str, Any]]:
        try:
            for chunk in chunks_for(TEXT):
                await asyncio.sleep(0.02)
                yield chunk
        finally:
            closed.set()

    stream = cache.stream_async(chat_request(), model)
    assert await anext(stream) == chunks_for(TEXT)[0]
    await stream.aclose()

    assert closed.is_set()
    assert not await cache._cache.exists_async(cache.key(chat_request(), stream=True))


def test_when_the_first_caller_leaves_a_waiting_caller_streams_in_its_turn(
    make_llm_cache: MakeLLMCache,
) -> None:
    cache, model = make_llm_cache(), StandInModel(TEXT, delay=1.0)  # 0.1 s a chunk
    leader = cache.stream(chat_request(), model.stream)
    next(leader)  # it leads: its model stream has begun

    with ThreadPoolExecutor(1) as pool:
        waiter = pool.submit(lambda: list(cache.stream(chat_request(), model.stream)))
        time.sleep(0.1)  # the waiter is waiting for the leader's stream
        leader.close()
        assert waiter.result(timeout=10) == chunks_for(TEXT)

    assert model.calls == 2
    assert list(cache.stream(chat_request(), model.stream)) == chunks_for(TEXT)  # the waiter's, stored
    assert model.calls == 2


def test_eight_threads_streaming_one_request_make_one_model_call(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel(TEXT, delay=0.3)
    start = threading.Barrier(8)

    def agent(_: int) -> list[dict[str, Any]]:
        start.wait()
        return list(cache.stream(chat_request(), model.stream))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(agent, range(8)))

    assert model.calls == 1
    assert all(result == chunks_for(TEXT) for result in results)
    assert (cache.get_stats()["hits"], cache.get_stats()["misses"]) == (7, 1)


async def test_thirty_two_tasks_streaming_one_request_make_one_model_call(
    make_llm_cache: MakeLLMCache,
) -> None:
    cache, model = make_llm_cache(), StandInModel(TEXT, delay=0.3)

    results = await asyncio.gather(
        *(collect(cache.stream_async(chat_request(), model.stream_async)) for _ in range(32))
    )

    assert model.calls == 1
    assert all(result == chunks_for(TEXT) for result in results)


def test_a_stream_and_a_completion_of_one_request_are_two_entries(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel(TEXT)

    list(cache.stream(chat_request(stream=True), model.stream))
    cache.complete(chat_request(), model.complete)
    cache.complete(chat_request(), model.complete)

    assert model.calls == 2


def test_savings_of_a_stream_come_from_its_usage_chunk(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel(TEXT)

    list(cache.stream(chat_request(), model.stream))
    list(cache.stream(chat_request(), model.stream))

    saved = cache.get_stats()["saved"]
    assert (saved["prompt_tokens"], saved["completion_tokens"]) == (50, len(TEXT.split()))


def test_sampled_streams_pass_through_under_bypass(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(sampled="bypass"), StandInModel(TEXT)

    for _ in range(2):
        assert list(cache.stream(chat_request(temperature=1.0), model.stream)) == chunks_for(TEXT)

    assert model.calls == 2
    assert cache.get_stats()["bypassed"] == 2


def test_a_bad_request_is_refused_when_stream_is_called_not_when_it_is_read(
    make_llm_cache: MakeLLMCache,
) -> None:
    cache = make_llm_cache()

    with pytest.raises(TypeError, match="model"):
        cache.stream({"messages": [], "model": 3}, lambda: iter(()))
    with pytest.raises(TypeError, match="mapping"):
        cache.stream_async("hello", lambda: iter(()))  # type: ignore[arg-type]


def test_sdk_chunks_are_passed_on_and_stored_as_their_model_dump(make_llm_cache: MakeLLMCache) -> None:
    class ChunkObject:
        def __init__(self, data: dict[str, Any]) -> None:
            self.data = data

        def model_dump(self, mode: str = "python") -> dict[str, Any]:
            return self.data

    cache = make_llm_cache()
    stream = lambda: (ChunkObject(chunk) for chunk in chunks_for(TEXT))  # noqa: E731

    assert list(cache.stream(chat_request(), stream)) == chunks_for(TEXT)
    assert list(cache.stream(chat_request(), stream)) == chunks_for(TEXT)


def test_the_wrong_colour_of_stream_is_a_type_error(make_llm_cache: MakeLLMCache) -> None:
    cache, model = make_llm_cache(), StandInModel(TEXT)

    with pytest.raises(TypeError, match="stream_async"):
        list(cache.stream(chat_request(), model.complete_async))
    with pytest.raises(TypeError, match="use stream"):
        asyncio.run(collect(cache.stream_async(chat_request(), model.stream)))


def test_a_stream_too_large_to_store_is_delivered_and_counted(make_llm_cache: MakeLLMCache) -> None:
    cache = make_llm_cache(provider_settings={"max_value_bytes": 2000})
    model = StandInModel("word " * 200)

    assert list(cache.stream(chat_request(), model.stream)) == chunks_for(model.text)
    assert list(cache.stream(chat_request(), model.stream)) == chunks_for(model.text)
    assert model.calls == 2
    assert cache.get_stats()["store_errors"] == 2
