"""Coalescing the GETs and SETs that concurrent tasks of one event loop issue at the same moment.

With many tasks on a loop, each ``get_async`` as its own GET pays a full redis.asyncio command
(pool checkout, a ``wait_for`` task around the send, a timeout around the read, release): ~50 µs of
client CPU, the real limit of async throughput. Here the GETs issued in one loop iteration leave as
one ``MGET`` and the SETs as one batch write (the transport's ``write_batch``: one script call on
one server), one command per batch whatever its size, while each caller still gets its own reply,
its own errors and its own stats.

A coalescer belongs to one transport of one loop, not to a provider: caches that share their
connections (``connections``) share it too, so a batch may carry the keys of several caches (their
prefixes keep the names apart). Nothing in a batch is per cache: each caller's future carries its
own reply, and the caller decodes it and counts it in its own cache's stats.

How a batch forms: a caller with no batch to join looks at the loop's queue of ready callbacks.
Empty, nothing else can run before this caller's command is sent, so no one could join it: the
caller sends a plain GET/SET at once, as a lone ``await client.get()`` would (the common case of a
request handler awaiting its cache). Otherwise it becomes the batch's leader and yields once
(``asyncio.sleep(0)``), so that every task already ready in this iteration can join (a task woken
by I/O later never could: its callback is queued behind the leader's). Still alone after that, the
leader sends a plain GET/SET itself; otherwise the batch runs as a task of its own and every caller,
the leader included, awaits its future: cancelling a caller never cancels its neighbours' command.
The ready queue is asyncio's own (``BaseEventLoop._ready``, private but unchanged since Python 3.4);
a loop without one (uvloop) makes every caller with no batch to join a leader, which costs a lone
caller one loop iteration (~2 µs of CPU) and nothing else.

Writes keep their order across cancellation. A SET caller cancelled (or timed out) before its batch
is sent leaves the batch: its entry is never written. Once the batch is sent, the caller's
cancellation waits until the batch is done - a few round trips at most, e.g. ``NOSCRIPT`` then
``SCRIPT LOAD`` then ``EVALSHA`` - so a later write of the same key by the same caller can never
land before it and be overwritten by it. (A lone SET, sent directly, needs no such wait: redis-py
drops the connection of a cancelled command, so its bytes were either read by the server before the
next command is sent, or never sent.) Cancelled GETs stop waiting at once: a read has nothing to
order.

Every wait stays bounded: a caller waits for one command, bounded by the client's socket timeout,
retries and pool timeout exactly as its own GET would be. The per-command timeout wrapping of
redis.asyncio is kept, and paid once per batch instead of once per call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sized
from typing import Any

from src.infrastructure.cache.providers.redis.batch_writes import Entry
from src.infrastructure.cache.providers.redis.transport import AsyncTransport, Reply

logger = logging.getLogger(__name__)

#: Most callers in one batch; beyond, the next caller leads a new batch (sent concurrently).
MAX_BATCH = 512

_Get = tuple[bytes, "asyncio.Future[Reply]"]
_Set = tuple[Entry, "asyncio.Future[None]"]


class _SetBatch:
    """The SETs of one batch, and the task that writes them once the batch is sent."""

    __slots__ = ("entries", "task")

    def __init__(self, first: _Set) -> None:
        self.entries = [first]
        self.task: asyncio.Task[None] | None = None

    def withdraw(self, future: asyncio.Future[None]) -> None:
        """Drop the entry of ``future`` from a batch not sent yet."""
        self.entries = [entry for entry in self.entries if entry[1] is not future]


class Coalescer:
    """Batches the concurrent GETs and SETs sent through one event loop's transport. Use it only on
    that loop."""

    __slots__ = ("_gets", "_loop", "_ready", "_running", "_sets", "_transport")

    def __init__(self, transport: AsyncTransport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        # The loop's queue of ready callbacks: one deque for the loop's lifetime (see the docstring).
        self._ready: Sized | None = getattr(loop, "_ready", None)
        self._gets: list[_Get] | None = None
        self._sets: _SetBatch | None = None
        self._running: set[asyncio.Task[None]] = set()  # strong references until each batch ends

    async def get(self, name: bytes) -> Reply:
        """The reply of ``GET name``, possibly as part of an ``MGET`` shared with other tasks."""
        batch = self._gets
        if batch is not None and len(batch) < MAX_BATCH:
            joined: asyncio.Future[Reply] = self._loop.create_future()
            batch.append((name, joined))
            return await joined
        if self._alone():
            return await self._transport.get(name)
        future: asyncio.Future[Reply] = self._loop.create_future()
        batch = self._gets = [(name, future)]  # callers keep their order in the batch
        try:
            await asyncio.sleep(0)  # every task ready in this iteration may join
        except BaseException:  # the leader was cancelled: its followers still get their MGET
            self._seal_gets(batch)
            del batch[0]  # the leader's own command is dropped with it
            if batch:
                self._spawn(self._mget(batch))
            raise
        self._seal_gets(batch)
        if len(batch) == 1:
            return await self._transport.get(name)
        self._spawn(self._mget(batch))
        return await future

    async def set(self, name: bytes, payload: bytes, px: int | None) -> None:
        """``SET name payload PX px``, possibly as part of one batch write shared with other tasks."""
        batch = self._sets
        if batch is not None and len(batch.entries) < MAX_BATCH:
            joined: asyncio.Future[None] = self._loop.create_future()
            batch.entries.append(((name, payload, px), joined))
            return await _written(batch, joined)
        if self._alone():
            await self._transport.set(name, payload, px=px)
            return None
        future: asyncio.Future[None] = self._loop.create_future()
        batch = self._sets = _SetBatch(((name, payload, px), future))
        try:
            await asyncio.sleep(0)
        except BaseException:
            self._seal_sets(batch)
            batch.withdraw(future)  # the leader's own command is dropped with it
            if batch.entries:
                batch.task = self._spawn(self._write(batch.entries))
            raise
        self._seal_sets(batch)
        if len(batch.entries) == 1:
            await self._transport.set(name, payload, px=px)
            return None
        batch.task = self._spawn(self._write(batch.entries))
        return await _written(batch, future)

    def _alone(self) -> bool:
        """Whether no other callback of the loop is ready to run: nobody could join a batch now."""
        ready = self._ready
        return ready is not None and not ready

    def _seal_gets(self, batch: list[_Get]) -> None:
        """No one joins ``batch`` any more (a newer batch may already be open: leave that one)."""
        if self._gets is batch:
            self._gets = None

    def _seal_sets(self, batch: _SetBatch) -> None:
        if self._sets is batch:
            self._sets = None

    def _spawn(self, batch: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = self._loop.create_task(batch)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def _mget(self, batch: list[_Get]) -> None:
        futures = [future for _, future in batch]
        try:
            replies = await self._transport.mget([name for name, _ in batch])
            for future, reply in zip(futures, replies, strict=True):
                if not future.done():  # a caller cancelled meanwhile no longer waits
                    future.set_result(reply)
        except BaseException as exc:  # every caller gets the command's error, to translate as its own
            _fail(futures, exc)
            if not isinstance(exc, Exception):
                raise

    async def _write(self, batch: list[_Set]) -> None:
        futures = [future for _, future in batch]
        try:
            names = [name for (name, _, _), _ in batch]
            payloads = [payload for (_, payload, _), _ in batch]
            await self._transport.write_batch(names, payloads, [px for (_, _, px), _ in batch])
            for future in futures:
                if not future.done():
                    future.set_result(None)
        except BaseException as exc:
            _fail(futures, exc)
            if not isinstance(exc, Exception):
                raise


async def _written(batch: _SetBatch, future: asyncio.Future[None]) -> None:
    """Wait for ``future``'s entry of ``batch`` to be written; if cancelled, leave the batch when it
    is not sent yet, else wait for it to finish first (see the module's docstring)."""
    try:
        return await future
    except asyncio.CancelledError:
        if batch.task is None:
            batch.withdraw(future)
        else:
            await _outlive(batch.task)
        raise


async def _outlive(task: asyncio.Task[None]) -> None:
    """Return once ``task`` is done, whatever cancellations arrive meanwhile (the caller re-raises
    its own). Bounded: the batch's command is bounded by the client's timeouts and retries."""
    while not task.done():
        try:
            await asyncio.wait((task,))
        except asyncio.CancelledError:
            continue


def _fail(futures: list[asyncio.Future[Any]], exc: BaseException) -> None:
    if isinstance(exc, asyncio.CancelledError):  # the loop is shutting down: release the waiters
        for future in futures:
            future.cancel()
        return
    for future in futures:
        if not future.done():
            future.set_exception(exc)
