"""One async transport (a redis.asyncio client and its pool) per event loop, closed on that loop.

redis.asyncio connections (and the blocking pool's ``asyncio.Condition``) belong to the loop that
first used them: awaiting them from another loop fails with "attached to a different loop". A
provider outlives loops (``asyncio.run`` twice in a row, one loop per test, a loop per worker
thread), so its connections (``connections``) keep a transport per loop, built on first use in that
loop, with the loop's :class:`Coalescer` over it.

A pool should be closed on its own loop, while that loop still runs. asyncio has no "loop is
closing" callback, but it has one hook that ``asyncio.run`` and ``asyncio.Runner`` (and so
pytest-asyncio) always call while the loop still runs: ``loop.shutdown_asyncgens()``, which closes
every async generator started on the loop. So each transport comes with a small async generator,
suspended for the loop's lifetime, whose ``finally`` closes the transport. A loop closed without that
hook (a hand-run ``loop.close()``) leaves its sockets to the garbage collector; its transport is
dropped the next time a transport is built.

``aclose_current()`` and ``release()`` (behind the provider's ``aclose()`` and ``close()``) close a
loop's connections earlier but keep its transport: other tasks of that loop may be in the middle of
a call on it, so connections are closed the way ``pools`` describes (idle ones now, busy ones when
their call returns them), and the loop's next call reconnects through the same transport.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, Callable

from src.infrastructure.cache.providers.redis.coalescing import Coalescer
from src.infrastructure.cache.providers.redis.errors import BACKEND_ERRORS
from src.infrastructure.cache.providers.redis.transport import AsyncTransport

logger = logging.getLogger(__name__)


class _LoopTransport:
    __slots__ = ("closer", "coalescer", "transport")

    def __init__(self, transport: AsyncTransport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.closer = _close_with_loop(transport)
        self.coalescer = Coalescer(transport, loop)


async def _close_with_loop(transport: AsyncTransport) -> AsyncGenerator[None, None]:
    """Suspended until its loop shuts down (or ``aclose()`` is called), then closes ``transport``."""
    try:
        yield
    finally:
        try:
            await transport.aclose()  # disconnects every connection
        except BACKEND_ERRORS as exc:  # a connection that fails to close is gone anyway
            logger.warning("redis cache: error while closing an event loop's connections: %s", exc)


def _start_closing_connections(transport: AsyncTransport) -> None:
    """Run on the transport's loop: close its connections in a task of that loop.

    Scheduled as a plain callback rather than a coroutine, so a loop that stops before running it
    leaves no never-awaited coroutine behind (its shutdown closes the transport anyway).
    """
    asyncio.get_running_loop().create_task(_close_connections(transport))


async def _close_connections(transport: AsyncTransport) -> None:
    try:
        await transport.close_connections()
    except BACKEND_ERRORS as exc:  # a connection that fails to close is gone anyway
        logger.warning("redis cache: error while closing an event loop's connections: %s", exc)


class LoopTransports:
    """Async transports by event loop, each built on its loop's first call. Safe to use from many
    threads and loops."""

    def __init__(self, factory: Callable[[], AsyncTransport]) -> None:
        self._factory = factory
        self._lock = threading.Lock()  # taken only to add or remove a loop, never on the hot path
        self._by_loop: dict[asyncio.AbstractEventLoop, _LoopTransport] = {}

    async def current(self) -> AsyncTransport:
        """The transport of the running loop, built on the loop's first call."""
        entry = self._by_loop.get(asyncio.get_running_loop())
        if entry is None:
            entry = await self._open()
        return entry.transport

    async def coalescer(self) -> Coalescer:
        """The running loop's :class:`Coalescer`, over the same transport as :meth:`current`."""
        entry = self._by_loop.get(asyncio.get_running_loop())
        if entry is None:
            entry = await self._open()
        return entry.coalescer

    async def _open(self) -> _LoopTransport:
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._by_loop.get(loop)
            if entry is not None:
                return entry
            for other in [other for other in self._by_loop if other.is_closed()]:
                del self._by_loop[other]
            entry = self._by_loop[loop] = _LoopTransport(self._factory(), loop)
        # The first step registers the generator with this loop (for shutdown_asyncgens) and stops
        # at its ``yield`` without suspending: the transport is usable as soon as this returns.
        await anext(entry.closer)
        return entry

    async def aclose_current(self) -> None:
        """Close the running loop's connections now (calls in flight finish first); the next call
        on this loop reconnects."""
        entry = self._by_loop.get(asyncio.get_running_loop())
        if entry is not None:
            await _close_connections(entry.transport)

    def release(self) -> None:
        """Release what can be released without awaiting (for the sync ``close()``).

        A closed loop's transport is dropped. The connections of a loop running in another thread
        are closed on that loop, soon after this returns. Those of this thread's loop, or of a loop
        not running now, are left to ``aclose()`` on that loop or to the loop's shutdown: closing
        them needs that loop to run.
        """
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        with self._lock:
            for loop in list(self._by_loop):
                if loop.is_closed():
                    del self._by_loop[loop]
                elif loop.is_running() and loop is not here:
                    loop.call_soon_threadsafe(_start_closing_connections, self._by_loop[loop].transport)

    def pool_usage(self) -> tuple[int, int, int]:
        """``(event loops, connections in use, idle connections)`` over every loop's pool.

        Read without the loops' cooperation, so a snapshot that may be a moment out of date.
        """
        loops = in_use = idle = 0
        for loop, entry in list(self._by_loop.items()):
            if not loop.is_closed():
                used, free = entry.transport.pool_usage()
                loops, in_use, idle = loops + 1, in_use + used, idle + free
        return loops, in_use, idle
