"""The async colour of the contract suite: a provider's ``_async`` twins, driven through the sync API.

The contract tests call ``get``, ``set``, ... For the colour ``async`` the provider they get is an
:class:`AsyncColour` around the real one: each sync call runs the real provider's ``x_async`` to
completion on an event loop of the test, so the whole suite checks the async twins too without a
second copy of every test. It hides nothing: return values and exceptions are the twin's own
(``asyncio.Runner.run`` re-raises the very exception object the coroutine raised).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.wrappers.forwarding import ForwardingCacheProvider

T = TypeVar("T")

#: The colours a contract test runs in. ``mixed`` is for tests marked ``mixed_colours``: they call
#: both colours themselves on purpose (``await provider.x_async(...)`` from their own event loop,
#: or sync and async calls on the same entries), so they get the provider as it is, once.
COLOURS = ("sync", "async")
MIXED = "mixed"


class TestLoops:
    """The event loops of one test: one per thread that drives an :class:`AsyncColour`.

    One loop per thread, not one for the whole test: a loop runs in one thread at a time, and the
    contract has tests that call the provider from many threads at once (then each thread's calls
    go through the twins on its own loop, as in a service with a loop per worker thread). A loop
    lives until :meth:`close`, so a provider's per-loop connections are reused across the calls of
    a test and closed on their own loop at its end (``Runner.close`` shuts the loop's async
    generators down while it still runs: see ``loop_clients``).
    """

    __test__ = False  # not a test class

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._runners: list[asyncio.Runner] = []

    def run(self, call: Coroutine[Any, Any, T]) -> T:
        """Run ``call`` to completion on this thread's loop; return its result or raise its error."""
        runner: asyncio.Runner | None = getattr(self._local, "runner", None)
        if runner is None:
            # loop_factory: the runner leaves the thread's current event loop alone, so a test's own
            # asyncio.run() between two calls neither sees nor clears it.
            runner = self._local.runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
            with self._lock:
                self._runners.append(runner)
        return runner.run(call)

    def close(self) -> None:
        """Close every loop, after closing what the providers opened on it."""
        with self._lock:
            runners, self._runners = self._runners, []
        for runner in runners:
            runner.close()


class AsyncColour(ForwardingCacheProvider):
    """``inner`` with each sync method that has an async twin answered by that twin.

    ``get_stats``, ``health``, ``check_write`` and ``cleanup_expired`` have no twin and are
    forwarded as they are; ``close`` is ``aclose``. The ``_async`` methods stay those of ``inner``.
    """

    def __init__(self, inner: CacheProviderBase, loops: TestLoops) -> None:
        super().__init__(inner)
        self._loops = loops

    def get(self, key: str, default: Any = None) -> Any:
        return self._loops.run(self.inner.get_async(key, default))

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._loops.run(self.inner.set_async(key, value, ttl))

    def delete(self, key: str) -> bool:
        return self._loops.run(self.inner.delete_async(key))

    def get_entry(self, key: str) -> Any:
        return self._loops.run(self.inner.get_entry_async(key))

    def exists(self, key: str) -> bool:
        return self._loops.run(self.inner.exists_async(key))

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        return self._loops.run(self.inner.get_many_async(keys))

    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        self._loops.run(self.inner.set_many_async(mapping, ttl))

    def delete_many(self, keys: Iterable[str]) -> int:
        return self._loops.run(self.inner.delete_many_async(keys))

    def clear(self) -> int:
        return self._loops.run(self.inner.clear_async())

    def get_size(self) -> int:
        return self._loops.run(self.inner.get_size_async())

    def close(self) -> None:
        self._loops.run(self.inner.aclose())
