"""The LLM-response cache over any :class:`ICacheProvider` (the contract: ``ILLMResponseCache``).

Keys come from :mod:`.keys`, entries from :mod:`.entries`, streams take the paths of
:mod:`.streams`, savings are counted by :mod:`.savings`. Everything here uses only the provider's
contract, so the cache behaves alike on every provider: compute-once, leases across processes
(Redis), failure policy (the resilient wrapper) included.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import aclosing, closing
from typing import Any

from src.infrastructure.cache.config.llm_config import LLMCacheConfig
from src.infrastructure.cache.llm.entries import (
    TRIES,
    as_record,
    drop_foreign,
    drop_foreign_async,
    is_entry,
    rescuable,
    response_entry,
)
from src.infrastructure.cache.llm.keys import Kind, RequestKey, RequestKeys
from src.infrastructure.cache.llm.savings import Savings
from src.infrastructure.cache.llm.streaming import resolved, resolved_async
from src.infrastructure.cache.llm.streams import CachedStreams
from src.interfaces.llm.cache import CacheError, ICacheProvider
from src.interfaces.llm.response_cache import ChatRequest, ChatResponse, Chunk, ILLMResponseCache

Entry = dict[str, Any]


class LLMResponseCache(ILLMResponseCache):
    """Model answers in ``cache`` under ``config`` (``cache.llm``); ``cache_name`` is for stats."""

    def __init__(
        self, cache: ICacheProvider, config: LLMCacheConfig | None = None, *, cache_name: str | None = None
    ) -> None:
        self._cache = cache
        self._config = config = config or LLMCacheConfig()
        self._keys = RequestKeys(config.namespace, config.ignore_fields, config.keep_fields)
        self._savings = Savings(config)
        self._options = config.compute_options()
        self._streams = CachedStreams(cache, config.ttl, self._options, self._savings)
        self._cache_name = cache_name or config.cache or cache.name

    # ---------------------------------------------------------------- keys

    def key(self, request: ChatRequest, *, stream: bool = False) -> str:
        return self._keys.build(request, _kind(stream)).key

    def explain(self, request: ChatRequest, *, stream: bool = False) -> dict[str, Any]:
        return self._keys.explain(request, _kind(stream), self._config.sampled)

    def invalidate(self, request: ChatRequest, *, stream: bool = False) -> bool:
        return self._cache.delete(self.key(request, stream=stream))

    async def invalidate_async(self, request: ChatRequest, *, stream: bool = False) -> bool:
        return await self._cache.delete_async(self.key(request, stream=stream))

    # ---------------------------------------------------------------- complete

    def complete(self, request: ChatRequest, call: Callable[[], Any]) -> ChatResponse:
        request_key = self._keys.build(request, "chat")  # a bad request raises here, counted nowhere
        try:
            return self._complete(request_key, call)
        except Exception:
            self._savings.error(request_key.model)
            raise

    def _complete(self, request_key: RequestKey, call: Callable[[], Any]) -> ChatResponse:
        if self._bypasses(request_key):
            return self._call_past(request_key, call, "bypassed")
        started = time.perf_counter()
        for _ in range(TRIES):
            attempt = _Attempt(request_key.model, call)
            try:
                entry = self._cache.get_or_set(
                    request_key.key, attempt.run, self._config.ttl, **self._options
                )
            except CacheError as exc:
                if not rescuable(attempt.produced, exc):
                    raise
                if attempt.produced is None:  # the call it shared answered, but could not be stored
                    return self._call_past(request_key, call, "misses")
                self._savings.not_stored(request_key.key, attempt.produced, exc)
                return _response(attempt.produced)
            if attempt.produced is not None:
                self._savings.count_call("misses", attempt.produced)
                return _response(attempt.produced)
            if is_entry(entry, "response"):
                self._savings.count_hit(entry, started)
                return _response(entry)
            drop_foreign(self._cache, request_key.key)
        return self._call_past(request_key, call, "misses")

    async def complete_async(self, request: ChatRequest, call: Callable[[], Any]) -> ChatResponse:
        request_key = self._keys.build(request, "chat")
        try:
            return await self._complete_async(request_key, call)
        except Exception:
            self._savings.error(request_key.model)
            raise

    async def _complete_async(self, request_key: RequestKey, call: Callable[[], Any]) -> ChatResponse:
        if self._bypasses(request_key):
            return await self._call_past_async(request_key, call, "bypassed")
        started = time.perf_counter()
        for _ in range(TRIES):
            attempt = _Attempt(request_key.model, call)
            try:
                entry = await self._cache.get_or_set_async(
                    request_key.key, attempt.run_async, self._config.ttl, **self._options
                )
            except CacheError as exc:
                if not rescuable(attempt.produced, exc):
                    raise
                if attempt.produced is None:
                    return await self._call_past_async(request_key, call, "misses")
                self._savings.not_stored(request_key.key, attempt.produced, exc)
                return _response(attempt.produced)
            if attempt.produced is not None:
                self._savings.count_call("misses", attempt.produced)
                return _response(attempt.produced)
            if is_entry(entry, "response"):
                self._savings.count_hit(entry, started)
                return _response(entry)
            await drop_foreign_async(self._cache, request_key.key)
        return await self._call_past_async(request_key, call, "misses")

    def _call_past(self, request_key: RequestKey, call: Callable[[], Any], outcome: str) -> ChatResponse:
        """Ask the model without the cache: nothing read, nothing stored."""
        began = time.perf_counter()
        response = as_record(resolved(call()), "its response")
        self._savings.count_call(
            outcome, response_entry(request_key.model, response, time.perf_counter() - began)
        )
        return response

    async def _call_past_async(
        self, request_key: RequestKey, call: Callable[[], Any], outcome: str
    ) -> ChatResponse:
        began = time.perf_counter()
        response = as_record(await resolved_async(call()), "its response")
        self._savings.count_call(
            outcome, response_entry(request_key.model, response, time.perf_counter() - began)
        )
        return response

    # ---------------------------------------------------------------- streams

    def stream(self, request: ChatRequest, call: Callable[[], Any]) -> Generator[Chunk, None, None]:
        request_key = self._keys.build(request, "stream")  # checked now, not at the first next()
        return self._stream(request_key, call)

    def _stream(self, request_key: RequestKey, call: Callable[[], Any]) -> Generator[Chunk, None, None]:
        if self._bypasses(request_key):
            chunks = self._streams.past(request_key, call, "bypassed")
        else:
            chunks = self._streams.through(request_key, call)
        try:
            with closing(chunks):
                yield from chunks
        except Exception:
            self._savings.error(request_key.model)
            raise

    def stream_async(self, request: ChatRequest, call: Callable[[], Any]) -> AsyncGenerator[Chunk, None]:
        request_key = self._keys.build(request, "stream")
        return self._stream_async(request_key, call)

    async def _stream_async(
        self, request_key: RequestKey, call: Callable[[], Any]
    ) -> AsyncGenerator[Chunk, None]:
        if self._bypasses(request_key):
            chunks = self._streams.past_async(request_key, call, "bypassed")
        else:
            chunks = self._streams.through_async(request_key, call)
        try:
            async with aclosing(chunks):
                async for chunk in chunks:
                    yield chunk
        except Exception:
            self._savings.error(request_key.model)
            raise

    # ---------------------------------------------------------------- bookkeeping

    def get_stats(self) -> dict[str, Any]:
        config = self._config
        return {
            "cache": self._cache_name,
            "provider": self._cache.name,
            "namespace": config.namespace,
            "enabled": config.enabled,
            "sampled": config.sampled,
            **self._savings.snapshot(),
        }

    def _bypasses(self, request_key: RequestKey) -> bool:
        return not self._config.enabled or (request_key.sampled and self._config.sampled == "bypass")


class _Attempt:
    """One caller's computation for ``get_or_set``: the model call, timed, as an entry."""

    def __init__(self, model: str, call: Callable[[], Any]) -> None:
        self.model, self.call = model, call
        self.produced: Entry | None = None

    def run(self) -> Entry:
        began = time.perf_counter()
        response = as_record(resolved(self.call()), "its response")
        self.produced = response_entry(self.model, response, time.perf_counter() - began)
        return self.produced

    async def run_async(self) -> Entry:
        began = time.perf_counter()
        response = as_record(await resolved_async(self.call()), "its response")
        self.produced = response_entry(self.model, response, time.perf_counter() - began)
        return self.produced


def _response(entry: Entry) -> ChatResponse:
    response: ChatResponse = entry["response"]
    return response


def _kind(stream: bool) -> Kind:
    return "stream" if stream else "chat"
