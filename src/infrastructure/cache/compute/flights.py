"""In-process flights: at most one computation per key at a time among this process's callers.

The first caller to miss a key starts a :class:`Flight` and computes; every caller that misses the
same key meanwhile - another thread, or a task on any event loop - joins that flight and waits for
its outcome instead of computing. Waiting is on a completion signal (a ``threading.Event`` for
threads, a future of the waiter's own loop for tasks), never a spin, and always bounded by the
waiter's own timeout.

A flight ends one of three ways: with a value (every waiter gets it), with an error (every waiter
gets that error: the computation failed for all of them), or abandoned - its leader was cancelled
or interrupted - after which waiters try again, and one of them leads a new flight.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable
from contextlib import suppress
from typing import Any


class Flight:
    """One computation of one key, and the callers waiting for it. Thread- and loop-safe."""

    __slots__ = ("_async_waiters", "_done", "_lock", "abandoned", "error", "value")

    def __init__(self) -> None:
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.value: Any = None
        self.error: BaseException | None = None
        self.abandoned = False

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def finish(self, value: Any = None, error: BaseException | None = None, abandoned: bool = False) -> None:
        """Record the outcome and wake every waiter, in any thread or loop."""
        with self._lock:
            self.value, self.error, self.abandoned = value, error, abandoned
            self._done.set()
            waiters, self._async_waiters = self._async_waiters, []
        for loop, future in waiters:
            with suppress(RuntimeError):  # a closed loop's waiter is gone with it
                loop.call_soon_threadsafe(_wake, future)

    def wait(self, seconds: float) -> bool:
        """Block until the flight is done (True) or ``seconds`` pass (False)."""
        return self._done.wait(max(seconds, 0.0))

    async def wait_async(self, seconds: float) -> bool:
        """Async twin of :meth:`wait`. Cancelling the waiter cancels only its own wait."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._done.is_set():
                return True
            self._async_waiters.append((loop, future))
        try:
            await asyncio.wait_for(future, max(seconds, 0.0))
        except TimeoutError:
            return self._done.is_set()
        return True


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():  # a waiter that timed out or was cancelled no longer listens
        future.set_result(None)


class Flights:
    """The flights of one cache, by key."""

    __slots__ = ("_by_key", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[Hashable, Flight] = {}

    def join(self, key: Hashable) -> tuple[Flight, bool]:
        """The flight of ``key`` and whether the caller leads it (started it: it must compute and
        then call :meth:`land`), or only waits for it."""
        with self._lock:
            flight = self._by_key.get(key)
            if flight is not None:
                return flight, False
            flight = self._by_key[key] = Flight()
            return flight, True

    def land(
        self,
        key: Hashable,
        flight: Flight,
        value: Any = None,
        error: BaseException | None = None,
        abandoned: bool = False,
    ) -> None:
        """End ``flight``: later callers start a new one; current waiters get the outcome."""
        with self._lock:
            if self._by_key.get(key) is flight:
                del self._by_key[key]
        flight.finish(value, error, abandoned)

    def __len__(self) -> int:
        return len(self._by_key)
