"""Streams through compute-once: the first caller sees chunks live, the others a replay.

A streamed answer must reach its first caller chunk by chunk, while ``get_or_set``'s computation
returns one value at its end. So each caller that misses runs ``get_or_set`` beside itself - in a
thread (sync) or a task (async) - with a computation that streams the model's chunks into the
caller's queue and returns the stream's entry when it completed. The caller reads its queue:

* if its computation runs (it leads the key), it yields each chunk as it arrives, and the entry
  is stored by ``get_or_set`` once the stream completed;
* if another caller leads (in this process or another), its computation never runs: it waits for
  the leader's entry, then replays its chunks.

Nothing is stored unless the stream completed. A model stream that raises fails the computation
(its callers in this process get the error, as ``get_or_set`` shares errors). A caller that stops
reading abandons its computation: the model stream is closed at its next chunk (sync) or at once
(async, by cancelling the task), the lease is released, and a waiter, if any, calls the model in
its turn. Rejected: having waiters compute separately (a call per caller, what the cache is for),
and running the model stream in the caller's own thread (``get_or_set`` would have to return
before the stream ends, so a waiter elsewhere could not be told apart from a leader).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import queue
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from contextlib import suppress
from typing import Any

from src.infrastructure.cache.llm.entries import as_record, stream_entry

_CHUNK, _DONE, _FAILED = "chunk", "done", "failed"


class StreamAbandoned(BaseException):
    """Raised inside a computation whose caller stopped reading. A ``BaseException``, as
    cancellation is: compute-once then abandons the flight and releases the lease, and a waiter
    takes over, where an ``Exception`` would be handed to the waiters as their answer."""


class StreamOutcome:
    """What one caller's relay ended with: the entry ``get_or_set`` returned (``entry``); the one
    its own computation produced, if it led and the stream completed (``produced``); and whether
    the caller has had its whole answer already (``answered``: streamed live), or is still to
    replay ``entry``."""

    def __init__(self) -> None:
        self.led = False
        self.produced: dict[str, Any] | None = None
        self.entry: Any = None
        self.answered = False


class _Computation:
    """One caller's computation: streams ``call()`` into its queue, returns the stream's entry."""

    def __init__(self, model: str, call: Callable[[], Any], outcome: StreamOutcome) -> None:
        self.model, self.call, self.outcome = model, call, outcome
        self.chunks: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.abandoned = threading.Event()

    def run(self) -> dict[str, Any]:
        if self.abandoned.is_set():  # took the lead after its caller left: no model call for nobody
            raise StreamAbandoned
        self.outcome.led = True
        began = time.perf_counter()
        chunks: list[dict[str, Any]] = []
        iterator = iterator_of(self.call())
        try:
            for raw in iterator:
                if self.abandoned.is_set():
                    raise StreamAbandoned
                chunk = as_record(raw, "a stream chunk")
                chunks.append(chunk)
                self.chunks.put((_CHUNK, chunk))
        finally:
            close(iterator)
        self.outcome.produced = stream_entry(self.model, chunks, time.perf_counter() - began)
        return self.outcome.produced


def relay(
    get_or_set: Callable[[Callable[[], Any]], Any],
    model: str,
    call: Callable[[], Any],
    outcome: StreamOutcome,
) -> Generator[dict[str, Any], None, None]:
    """Yield the chunks this caller streams live, if it leads; then set ``outcome``.

    ``get_or_set(compute)`` is the cache's ``get_or_set`` of the request's key. Raises what it
    raised, once every chunk received before the failure was yielded.
    """
    computation = _Computation(model, call, outcome)

    def work() -> None:
        try:
            computation.chunks.put((_DONE, get_or_set(computation.run)))
        except BaseException as exc:  # handed to the caller's thread, which raises it
            computation.chunks.put((_FAILED, exc))

    # The caller's context goes with it (contextvars: a tracing span, a request id), as it would
    # if the model were called in the caller's own thread.
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(work,), name="agent-cache-llm-stream", daemon=True).start()
    try:
        while True:
            tag, item = computation.chunks.get()
            if tag == _CHUNK:
                yield item
            elif tag == _DONE:
                outcome.entry = item
                return
            else:
                raise item
    finally:
        computation.abandoned.set()  # a no-op once the computation ended


class _AsyncComputation:
    """The async twin of :class:`_Computation`: ``call()`` gives an async iterable (or an
    awaitable of one); cancelling the task that runs it is how its caller abandons it."""

    def __init__(self, model: str, call: Callable[[], Any], outcome: StreamOutcome) -> None:
        self.model, self.call, self.outcome = model, call, outcome
        self.chunks: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def run(self) -> dict[str, Any]:
        self.outcome.led = True
        began = time.perf_counter()
        chunks: list[dict[str, Any]] = []
        iterator = await iterator_of_async(self.call())
        try:
            async for raw in iterator:
                chunk = as_record(raw, "a stream chunk")
                chunks.append(chunk)
                self.chunks.put_nowait((_CHUNK, chunk))
        finally:
            await close_async(iterator)
        self.outcome.produced = stream_entry(self.model, chunks, time.perf_counter() - began)
        return self.outcome.produced


async def relay_async(
    get_or_set: Callable[[Callable[[], Any]], Awaitable[Any]],
    model: str,
    call: Callable[[], Any],
    outcome: StreamOutcome,
) -> AsyncGenerator[dict[str, Any], None]:
    """Async twin of :func:`relay`: ``get_or_set`` is the cache's ``get_or_set_async``."""
    computation = _AsyncComputation(model, call, outcome)
    task = asyncio.ensure_future(get_or_set(computation.run))

    def finished(done: asyncio.Future[Any]) -> None:
        if done.cancelled():
            computation.chunks.put_nowait((_FAILED, asyncio.CancelledError()))
        elif done.exception() is not None:
            computation.chunks.put_nowait((_FAILED, done.exception()))
        else:
            computation.chunks.put_nowait((_DONE, done.result()))

    task.add_done_callback(finished)
    try:
        while True:
            tag, item = await computation.chunks.get()
            if tag == _CHUNK:
                yield item
            elif tag == _DONE:
                outcome.entry = item
                return
            else:
                raise item
    finally:
        if not task.done():  # the caller left (closed the iterator, or was cancelled)
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task


def iterator_of(source: Any) -> Iterator[Any]:
    """The iterator of what a sync stream's ``call()`` returned; ``TypeError`` for an awaitable."""
    resolved(source)
    return iter(source)


async def iterator_of_async(source: Any) -> AsyncIterator[Any]:
    """The async iterator of what ``call()`` returned: an async iterable, or an awaitable of one."""
    if inspect.isawaitable(source):
        source = await source
    if not hasattr(source, "__aiter__"):
        raise TypeError(
            f"stream_async's call returned a {type(source).__name__}; return an async iterable of "
            "chunks (or an awaitable of one); for a sync iterable use stream()"
        )
    iterator: AsyncIterator[Any] = source.__aiter__()
    return iterator


def resolved(value: Any) -> Any:
    """``value``, which a sync model call returned; ``TypeError`` if it is an awaitable."""
    if inspect.isawaitable(value):
        close = getattr(value, "close", None)
        if callable(close):
            close()  # a coroutine never awaited would warn at garbage collection
        raise TypeError("the model call returned an awaitable; use complete_async() / stream_async() for it")
    return value


async def resolved_async(value: Any) -> Any:
    """``value`` awaited if an async model call returned an awaitable, else as it is."""
    if inspect.isawaitable(value):
        return await value
    return value


def close(iterator: Any) -> None:
    """Close a model stream: a generator's ``finally`` runs now; an SDK stream closes its response."""
    method = getattr(iterator, "close", None)
    if callable(method):
        method()


async def close_async(iterator: Any) -> None:
    """Async twin of :func:`close`: an async iterator closes with ``aclose()``."""
    method = getattr(iterator, "aclose", None)
    if callable(method):
        await method()
