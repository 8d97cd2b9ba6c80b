"""The paths of ``stream()``/``stream_async()`` through one cache: replay, relay, or past it.

A stored stream is replayed chunk by chunk; a missing one goes through :mod:`.streaming`'s relay
(live to the caller that leads, a replay for those that wait); a bypassed one, or one the cache
could not take, streams straight from the model. Every inner generator is closed with its outer
one (``closing``/``aclosing``), so a caller that stops reading closes the model's stream now, not
when the garbage collector gets to it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import aclosing, closing
from functools import partial
from typing import Any

from src.infrastructure.cache.llm.entries import (
    TRIES,
    as_record,
    drop_foreign,
    drop_foreign_async,
    is_entry,
    rescuable,
    stream_entry,
)
from src.infrastructure.cache.llm.keys import RequestKey
from src.infrastructure.cache.llm.savings import Savings
from src.infrastructure.cache.llm.streaming import (
    StreamOutcome,
    close,
    close_async,
    iterator_of,
    iterator_of_async,
    relay,
    relay_async,
)
from src.infrastructure.cache.sentinels import MISSING
from src.interfaces.llm.cache import CacheError, ICacheProvider
from src.interfaces.llm.response_cache import Chunk

Call = Callable[[], Any]


class CachedStreams:
    """Streams of one LLM cache: ``cache`` with ``ttl`` and compute ``options``, counted in ``savings``."""

    def __init__(
        self, cache: ICacheProvider, ttl: float | None, options: dict[str, Any], savings: Savings
    ) -> None:
        self._cache, self._ttl, self._options, self._savings = cache, ttl, options, savings

    def through(self, request_key: RequestKey, call: Call) -> Generator[Chunk, None, None]:
        """The answer's chunks: replayed if stored, else relayed (and stored once complete)."""
        started = time.perf_counter()
        for _ in range(TRIES):
            outcome = StreamOutcome()
            entry = self._cache.get(request_key.key, MISSING)
            if entry is MISSING:
                with closing(self._relay(request_key, call, outcome)) as chunks:
                    yield from chunks
                if outcome.answered:
                    return
                entry = outcome.entry
            if is_entry(entry, "chunks"):
                self._savings.count_hit(entry, started)
                for chunk in entry["chunks"]:  # noqa: UP028 - as its async twin must write it (twin parity)
                    yield chunk
                return
            drop_foreign(self._cache, request_key.key)
        with closing(self.past(request_key, call, "misses")) as chunks:
            yield from chunks

    def _relay(
        self, request_key: RequestKey, call: Call, outcome: StreamOutcome
    ) -> Generator[Chunk, None, None]:
        """The chunks this caller streams live (it leads the key), or none (it waits for the
        entry of the caller that leads: ``outcome.entry``)."""
        get_or_set = partial(self._cache.get_or_set, request_key.key, ttl=self._ttl, **self._options)
        try:
            with closing(relay(get_or_set, request_key.model, call, outcome)) as chunks:
                yield from chunks
        except CacheError as exc:
            if not rescuable(outcome.produced, exc):
                raise
            if outcome.produced is None:
                with closing(self.past(request_key, call, "misses")) as chunks:
                    yield from chunks
            else:
                self._savings.not_stored(request_key.key, outcome.produced, exc)
            outcome.answered = True
            return
        if outcome.produced is not None:
            self._savings.count_call("misses", outcome.produced)
            outcome.answered = True

    def past(self, request_key: RequestKey, call: Call, outcome: str) -> Generator[Chunk, None, None]:
        """The model's chunks, straight: nothing read or stored; counted as ``outcome``."""
        began = time.perf_counter()
        chunks: list[Chunk] = []
        iterator = iterator_of(call())
        try:
            for raw in iterator:
                chunks.append(as_record(raw, "a stream chunk"))
                yield chunks[-1]
        finally:
            close(iterator)
        self._savings.count_call(
            outcome, stream_entry(request_key.model, chunks, time.perf_counter() - began)
        )

    # ---------------------------------------------------------------- async

    async def through_async(self, request_key: RequestKey, call: Call) -> AsyncGenerator[Chunk, None]:
        """Async twin of :meth:`through`."""
        started = time.perf_counter()
        for _ in range(TRIES):
            outcome = StreamOutcome()
            entry = await self._cache.get_async(request_key.key, MISSING)
            if entry is MISSING:
                async with aclosing(self._relay_async(request_key, call, outcome)) as chunks:
                    async for chunk in chunks:
                        yield chunk
                if outcome.answered:
                    return
                entry = outcome.entry
            if is_entry(entry, "chunks"):
                self._savings.count_hit(entry, started)
                for chunk in entry["chunks"]:
                    yield chunk
                return
            await drop_foreign_async(self._cache, request_key.key)
        async with aclosing(self.past_async(request_key, call, "misses")) as chunks:
            async for chunk in chunks:
                yield chunk

    async def _relay_async(
        self, request_key: RequestKey, call: Call, outcome: StreamOutcome
    ) -> AsyncGenerator[Chunk, None]:
        get_or_set = partial(self._cache.get_or_set_async, request_key.key, ttl=self._ttl, **self._options)
        try:
            async with aclosing(relay_async(get_or_set, request_key.model, call, outcome)) as chunks:
                async for chunk in chunks:
                    yield chunk
        except CacheError as exc:
            if not rescuable(outcome.produced, exc):
                raise
            if outcome.produced is None:
                async with aclosing(self.past_async(request_key, call, "misses")) as chunks:
                    async for chunk in chunks:
                        yield chunk
            else:
                self._savings.not_stored(request_key.key, outcome.produced, exc)
            outcome.answered = True
            return
        if outcome.produced is not None:
            self._savings.count_call("misses", outcome.produced)
            outcome.answered = True

    async def past_async(
        self, request_key: RequestKey, call: Call, outcome: str
    ) -> AsyncGenerator[Chunk, None]:
        """Async twin of :meth:`past`."""
        began = time.perf_counter()
        chunks: list[Chunk] = []
        iterator = await iterator_of_async(call())
        try:
            async for raw in iterator:
                chunks.append(as_record(raw, "a stream chunk"))
                yield chunks[-1]
        finally:
            await close_async(iterator)
        self._savings.count_call(
            outcome, stream_entry(request_key.model, chunks, time.perf_counter() - began)
        )
