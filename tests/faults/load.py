"""Concurrent callers for the fault tests: threads and asyncio tasks hammering one provider.

Each worker owns its keys and remembers, for each, the last write the cache acknowledged (a
version number, or "deleted"). Every value it reads back must be that last version, or a miss: a
cache may forget, but it must never answer with something older or something deleted. Workers stop
by themselves after ``max_seconds`` even if nobody calls :meth:`Load.stop`.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from src.interfaces.llm.cache import ICacheProvider

_DELETED = -1


@dataclass
class Report:
    """What the workers saw. ``unexpected``/``stale``/``slow`` must be empty in a passing test."""

    calls: int = 0
    failed_calls: int = 0
    unexpected: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)
    max_call_seconds: float = 0.0
    max_failed_call_seconds: float = 0.0
    hung_workers: int = 0

    def merge(self, other: Report) -> None:
        self.calls += other.calls
        self.failed_calls += other.failed_calls
        self.unexpected += other.unexpected
        self.stale += other.stale
        self.slow += other.slow
        self.max_call_seconds = max(self.max_call_seconds, other.max_call_seconds)
        self.max_failed_call_seconds = max(self.max_failed_call_seconds, other.max_failed_call_seconds)


class Worker:
    """One caller's keys, their last acknowledged versions, and the checks on what it reads."""

    def __init__(self, name: str, allowed: tuple[type[BaseException], ...], bound: float) -> None:
        self.name = name
        self.allowed = allowed
        self.bound = bound
        self.keys = [f"{name}:k{i}" for i in range(12)]
        self.truth: dict[str, int] = {}
        self.uncertain: set[str] = set()  # a write raised: it may or may not have landed
        self.version = 0
        self.report = Report()
        self.random = random.Random(name)

    def plan(self) -> tuple[str, list[str], dict[str, Any]]:
        """The next operation: its name, the keys it touches and, for writes, the values."""
        op = self.random.choice(["get", "get", "set", "set", "delete", "get_many", "set_many", "delete_many"])
        keys = self.random.sample(self.keys, 3 if op.endswith("_many") else 1)
        values = {}
        if op.startswith("set"):
            for key in keys:
                self.version += 1
                values[key] = {"k": key, "v": self.version}
        return op, keys, values

    def record(self, op: str, keys: list[str], values: dict[str, Any], result: Any, seconds: float) -> None:
        """A call returned: check what it read, remember what it wrote."""
        self._timed(op, seconds, failed=False)
        if op == "get":
            self._check(keys[0], result)
        elif op == "get_many":
            for key in keys:
                self._check(key, result.get(key))
        else:
            for key in keys:
                self.truth[key] = values[key]["v"] if values else _DELETED
                self.uncertain.discard(key)

    def failed(self, op: str, keys: list[str], exc: BaseException, seconds: float) -> None:
        self._timed(op, seconds, failed=True)
        if not isinstance(exc, self.allowed):
            self.report.unexpected.append(f"{self.name} {op}: {type(exc).__name__}: {exc}")
        elif op not in ("get", "get_many"):
            self.uncertain.update(keys)

    def _timed(self, op: str, seconds: float, failed: bool) -> None:
        report = self.report
        report.calls += 1
        report.max_call_seconds = max(report.max_call_seconds, seconds)
        if failed:
            report.failed_calls += 1
            report.max_failed_call_seconds = max(report.max_failed_call_seconds, seconds)
        if seconds > self.bound:
            report.slow.append(f"{self.name} {op} took {seconds:.3f}s (bound {self.bound:.3f}s)")

    def _check(self, key: str, value: Any) -> None:
        if value is None or key in self.uncertain:
            return
        expected = self.truth.get(key)
        if expected is None or expected == _DELETED or value != {"k": key, "v": expected}:
            state = "never written" if expected is None else "deleted" if expected == _DELETED else expected
            self.report.stale.append(f"{key}: read {value!r}, last acknowledged write: {state}")


def _sync_call(cache: ICacheProvider, op: str, keys: list[str], values: dict[str, Any]) -> Any:
    calls: dict[str, Callable[[], Any]] = {
        "get": lambda: cache.get(keys[0]),
        "set": lambda: cache.set(keys[0], values[keys[0]]),
        "delete": lambda: cache.delete(keys[0]),
        "get_many": lambda: cache.get_many(keys),
        "set_many": lambda: cache.set_many(values),
        "delete_many": lambda: cache.delete_many(keys),
    }
    return calls[op]()


def _async_call(cache: ICacheProvider, op: str, keys: list[str], values: dict[str, Any]) -> Awaitable[Any]:
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "get": lambda: cache.get_async(keys[0]),
        "set": lambda: cache.set_async(keys[0], values[keys[0]]),
        "delete": lambda: cache.delete_async(keys[0]),
        "get_many": lambda: cache.get_many_async(keys),
        "set_many": lambda: cache.set_many_async(values),
        "delete_many": lambda: cache.delete_many_async(keys),
    }
    return calls[op]()


class Load:
    """``threads`` sync callers and ``tasks`` async callers (on one event loop in its own thread).

    ``allowed`` are the exceptions a caller may see (none, for fallback and ignore); ``bound`` is
    the longest any single call may take. Use as a context manager; ``report`` is set on exit.
    """

    def __init__(
        self,
        cache: ICacheProvider,
        *,
        threads: int = 4,
        tasks: int = 8,
        allowed: tuple[type[BaseException], ...] = (),
        bound: float = 5.0,
        pace: float = 0.002,
        max_seconds: float = 20.0,
    ) -> None:
        self.cache = cache
        self.pace = pace
        self.deadline = time.monotonic() + max_seconds
        self.stopping = threading.Event()
        self.sync_workers = [Worker(f"thread{i}", allowed, bound) for i in range(threads)]
        self.async_workers = [Worker(f"task{i}", allowed, bound) for i in range(tasks)]
        self.threads = [
            threading.Thread(target=self._run_sync, args=(w,), daemon=True) for w in self.sync_workers
        ]
        self.threads.append(threading.Thread(target=lambda: asyncio.run(self._run_tasks()), daemon=True))
        self.report = Report()

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=10)
            self.report.hung_workers += thread.is_alive()
        for worker in self.sync_workers + self.async_workers:
            self.report.merge(worker.report)

    def _running(self) -> bool:
        return not self.stopping.is_set() and time.monotonic() < self.deadline

    def _run_sync(self, worker: Worker) -> None:
        while self._running():
            op, keys, values = worker.plan()
            started = time.perf_counter()
            try:
                result = _sync_call(self.cache, op, keys, values)
            except Exception as exc:
                worker.failed(op, keys, exc, time.perf_counter() - started)
            else:
                worker.record(op, keys, values, result, time.perf_counter() - started)
            time.sleep(self.pace)

    async def _run_tasks(self) -> None:
        await asyncio.gather(*(self._run_task(worker) for worker in self.async_workers))

    async def _run_task(self, worker: Worker) -> None:
        while self._running():
            op, keys, values = worker.plan()
            started = time.perf_counter()
            try:
                result = await _async_call(self.cache, op, keys, values)
            except Exception as exc:
                worker.failed(op, keys, exc, time.perf_counter() - started)
            else:
                worker.record(op, keys, values, result, time.perf_counter() - started)
            await asyncio.sleep(self.pace)
