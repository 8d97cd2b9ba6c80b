"""A concurrent load on cache providers while a topology fails over: threads that stop by themselves.

Each worker thread calls one provider in a loop (set, get, and every few rounds a 20-key
``get_many``) until ``stop()`` or its own deadline, and records every exception with its time and
the slowest call. One more thread runs the ``_async`` twins on its own event loop. Nothing here
judges the outcome: the test reads ``failures`` and ``slowest``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from src.interfaces.llm.cache import ICacheProvider


@dataclass
class Failure:
    """An exception a caller saw: which provider, when (``time.monotonic()``), what."""

    provider: str
    at: float
    error: BaseException


@dataclass
class LoadReport:
    calls: int = 0
    slowest: float = 0.0
    failures: list[Failure] = field(default_factory=list)


class Load:
    """``threads_per_provider`` sync workers per provider plus one async worker per provider."""

    def __init__(
        self,
        providers: Mapping[str, ICacheProvider],
        threads_per_provider: int = 2,
        max_seconds: float = 30.0,
    ) -> None:
        self.providers = dict(providers)
        self.report = LoadReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._threads = [
            threading.Thread(target=self._sync_worker, args=(name, n), daemon=True, name=f"load-{name}-{n}")
            for name in self.providers
            for n in range(threads_per_provider)
        ]
        self._threads += [
            threading.Thread(target=self._async_worker, args=(name,), daemon=True, name=f"load-{name}-async")
            for name in self.providers
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def failures_after(self, moment: float) -> list[Failure]:
        with self._lock:
            return [failure for failure in self.report.failures if failure.at > moment]

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _record(self, name: str, started: float, error: BaseException | None) -> None:
        ended = time.monotonic()
        with self._lock:
            self.report.calls += 1
            self.report.slowest = max(self.report.slowest, ended - started)
            if error is not None:
                self.report.failures.append(Failure(name, ended, error))

    def _sync_worker(self, name: str, number: int) -> None:
        provider = self.providers[name]
        keys = [f"load-{number}-{i}" for i in range(20)]
        round_ = 0
        while self._running():
            key = keys[round_ % len(keys)]
            self._call(name, provider.set, key, {"round": round_})
            self._call(name, provider.get, key)
            if round_ % 5 == 0:
                self._call(name, provider.get_many, keys)
            round_ += 1
            time.sleep(0.002)  # a busy agent, not a benchmark: leave the CPU to the servers too

    def _call(self, name: str, function: Callable[..., object], *args: object) -> None:
        started = time.monotonic()
        try:
            function(*args)
        except Exception as exc:
            self._record(name, started, exc)
        else:
            self._record(name, started, None)

    def _async_worker(self, name: str) -> None:
        asyncio.run(self._async_loop(name))

    async def _async_loop(self, name: str) -> None:
        provider = self.providers[name]
        round_ = 0
        while self._running():
            key = f"load-async-{round_ % 20}"
            started = time.monotonic()
            try:
                await provider.set_async(key, round_)
                await provider.get_async(key)
            except Exception as exc:
                self._record(name, started, exc)
            else:
                self._record(name, started, None)
            round_ += 1
            await asyncio.sleep(0.002)
        # No aclose(): it would also close the sync pool the other workers use. asyncio.run shuts
        # this loop's client down as the loop ends (see loop_clients).
