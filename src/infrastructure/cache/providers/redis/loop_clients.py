"""One redis.asyncio client per event loop, closed on that loop.

redis.asyncio connections (and the blocking pool's ``asyncio.Condition``) belong to the loop that
first used them: awaiting them from another loop fails with "attached to a different loop". A
provider outlives loops (``asyncio.run`` twice in a row, one loop per test, a loop per worker
thread), so it keeps a client per loop, built on first use in that loop.

A pool should be closed on its own loop, while that loop still runs. asyncio has no "loop is
closing" callback, but it has one hook that ``asyncio.run`` and ``asyncio.Runner`` (and so
pytest-asyncio) always call while the loop still runs: ``loop.shutdown_asyncgens()``, which closes
every async generator started on the loop. So each client comes with a small async generator,
suspended for the loop's lifetime, whose ``finally`` closes the client. A loop closed without that
hook (a hand-run ``loop.close()``) leaves its sockets to the garbage collector; its client is dropped
the next time a client is built.

``aclose_current()`` and ``release()`` (the provider's ``aclose()`` and ``close()``) close a loop's
connections earlier but keep its client: other tasks of that loop may be in the middle of a call
on it, so connections are closed the way ``pools`` describes (idle ones now, busy ones when their
call returns them), and the loop's next call reconnects through the same client.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, Callable

from src.infrastructure.cache.providers.redis.client_factory import AsyncClient, pool_usage
from src.infrastructure.cache.providers.redis.coalescing import Coalescer
from src.infrastructure.cache.providers.redis.errors import BACKEND_ERRORS
from src.infrastructure.cache.providers.redis.pools import aclose_connections

logger = logging.getLogger(__name__)


class _LoopClient:
    __slots__ = ("client", "closer", "coalescer")

    def __init__(self, client: AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.closer = _close_with_loop(client)
        self.coalescer = Coalescer(client, loop)


async def _close_with_loop(client: AsyncClient) -> AsyncGenerator[None, None]:
    """Suspended until its loop shuts down (or ``aclose()`` is called), then closes ``client``."""
    try:
        yield
    finally:
        try:
            await client.aclose()  # the client owns its pool: this disconnects every connection
        except BACKEND_ERRORS as exc:  # a connection that fails to close is gone anyway
            logger.warning("redis cache: error while closing an event loop's connections: %s", exc)


def _start_closing_connections(client: AsyncClient) -> None:
    """Run on the client's loop: close its connections in a task of that loop.

    Scheduled as a plain callback rather than a coroutine, so a loop that stops before running it
    leaves no never-awaited coroutine behind (its shutdown closes the client anyway).
    """
    asyncio.get_running_loop().create_task(_close_connections(client))


async def _close_connections(client: AsyncClient) -> None:
    try:
        await aclose_connections(client)
    except BACKEND_ERRORS as exc:  # a connection that fails to close is gone anyway
        logger.warning("redis cache: error while closing an event loop's connections: %s", exc)


class LoopClients:
    """The async clients of one provider, by event loop. Safe to use from many threads and loops."""

    def __init__(self, factory: Callable[[], AsyncClient]) -> None:
        self._factory = factory
        self._lock = threading.Lock()  # taken only to add or remove a loop, never on the hot path
        self._by_loop: dict[asyncio.AbstractEventLoop, _LoopClient] = {}

    async def current(self) -> AsyncClient:
        """The client of the running loop, built on the loop's first call."""
        entry = self._by_loop.get(asyncio.get_running_loop())
        if entry is None:
            entry = await self._open()
        return entry.client

    async def coalescer(self) -> Coalescer:
        """The running loop's :class:`Coalescer`, over the same client as :meth:`current`."""
        entry = self._by_loop.get(asyncio.get_running_loop())
        if entry is None:
            entry = await self._open()
        return entry.coalescer

    async def _open(self) -> _LoopClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._by_loop.get(loop)
            if entry is not None:
                return entry
            for other in [other for other in self._by_loop if other.is_closed()]:
                del self._by_loop[other]
            entry = self._by_loop[loop] = _LoopClient(self._factory(), loop)
        # The first step registers the generator with this loop (for shutdown_asyncgens) and stops
        # at its ``yield`` without suspending: the client is usable as soon as this returns.
        await anext(entry.closer)
        return entry

    async def aclose_current(self) -> None:
        """Close the running loop's connections now (calls in flight finish first); the next call
        on this loop reconnects."""
        entry = self._by_loop.get(asyncio.get_running_loop())
        if entry is not None:
            await _close_connections(entry.client)

    def release(self) -> None:
        """Release what can be released without awaiting (for the sync ``close()``).

        A closed loop's client is dropped. The connections of a loop running in another thread are
        closed on that loop, soon after this returns. The client of this thread's loop, or of a loop
        not running now, is left to ``aclose()`` on that loop or to the loop's shutdown: closing
        it needs that loop to run.
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
                    loop.call_soon_threadsafe(_start_closing_connections, self._by_loop[loop].client)

    def pool_usage(self) -> tuple[int, int, int]:
        """``(event loops, connections in use, idle connections)`` over every loop's pool.

        Read without the loops' cooperation, so a snapshot that may be a moment out of date.
        """
        loops = in_use = idle = 0
        for loop, entry in list(self._by_loop.items()):
            if not loop.is_closed():
                used, free = pool_usage(entry.client)
                loops, in_use, idle = loops + 1, in_use + used, idle + free
        return loops, in_use, idle
