"""get_or_set / get_or_set_async on every provider: compute once, share the value, share the error.

These run on every contract provider. What needs several processes (leases in Redis) is in
``tests/integration/test_compute_once_processes.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from functools import partial
from typing import Any

import pytest

from src.interfaces.llm.cache import ICacheProvider

MODEL_CALL = 0.2


class CountingModel:
    """A stand-in model call: sleeps, counts its calls (thread-safe), answers from the prompt."""

    def __init__(self, seconds: float = MODEL_CALL) -> None:
        self.seconds = seconds
        self.calls = 0
        #: The tasks that called ``ask``, in order.
        self.tasks: list[asyncio.Task[Any] | None] = []
        self._lock = threading.Lock()

    def _count(self) -> int:
        with self._lock:
            self.calls += 1
            return self.calls

    def __call__(self, prompt: str = "p") -> str:
        self._count()
        time.sleep(self.seconds)
        return f"answer to {prompt}"

    async def ask(self, prompt: str = "p") -> str:
        self._count()
        self.tasks.append(asyncio.current_task())
        await asyncio.sleep(self.seconds)
        return f"answer to {prompt}"

    async def started(self, within: float = 2.0) -> None:
        """Wait until a caller is computing through :meth:`ask` (its lease taken), at most ``within`` s."""
        for _ in range(int(within / 0.01)):
            if self.tasks:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"no caller computed within {within} s")


def test_a_miss_computes_stores_and_a_hit_does_not_compute(cache_provider: ICacheProvider) -> None:
    model = CountingModel(0)
    assert cache_provider.get_or_set("k", model) == "answer to p"
    assert cache_provider.get("k") == "answer to p"
    assert cache_provider.get_or_set("k", model) == "answer to p"
    assert model.calls == 1
    compute = cache_provider.get_stats()["compute"]
    assert compute["computes"] == 1
    assert compute["compute_errors"] == 0


def test_a_cached_none_is_a_hit(cache_provider: ICacheProvider) -> None:
    calls: list[int] = []

    def compute() -> None:
        calls.append(1)

    assert cache_provider.get_or_set("k", compute) is None
    assert cache_provider.get_or_set("k", compute) is None
    assert calls == [1]
    assert cache_provider.exists("k") is True


def test_the_ttl_applies_to_the_computed_value(cache_provider: ICacheProvider, clock: Any) -> None:
    cache_provider.get_or_set("k", lambda: "v", ttl=0.3)
    clock.advance(0.45)
    assert cache_provider.get_or_set("k", lambda: "recomputed", ttl=0.3) == "recomputed"


def test_64_threads_asking_for_one_missing_key_compute_once(cache_provider: ICacheProvider) -> None:
    model = CountingModel()
    start = threading.Barrier(64)
    answers: list[str] = []

    def agent() -> None:
        start.wait()
        answers.append(cache_provider.get_or_set("prompt", model))

    threads = [threading.Thread(target=agent) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert model.calls == 1
    assert answers == ["answer to p"] * 64
    # Every caller that did not compute either waited or, arriving late, hit the stored value.
    assert 1 <= cache_provider.get_stats()["compute"]["lock_waits"] <= 63


def test_64_tasks_asking_for_one_missing_key_compute_once(cache_provider: ICacheProvider) -> None:
    model = CountingModel()

    async def agents() -> list[Any]:
        return list(
            await asyncio.gather(*(cache_provider.get_or_set_async("prompt", model.ask) for _ in range(64)))
        )

    assert asyncio.run(agents()) == ["answer to p"] * 64
    assert model.calls == 1


def test_distinct_keys_compute_in_parallel(cache_provider: ICacheProvider) -> None:
    model = CountingModel()

    async def agents() -> list[Any]:
        asks = [cache_provider.get_or_set_async(f"k{i}", partial(model.ask, str(i))) for i in range(8)]
        return list(await asyncio.gather(*asks))

    started = time.monotonic()
    assert asyncio.run(agents()) == [f"answer to {i}" for i in range(8)]
    assert model.calls == 8
    assert time.monotonic() - started < 8 * MODEL_CALL  # not one after the other


def test_a_failing_compute_raises_to_every_sharer_and_caches_nothing(cache_provider: ICacheProvider) -> None:
    calls: list[int] = []

    async def failing() -> str:
        calls.append(1)
        await asyncio.sleep(0.1)
        raise RuntimeError("model unavailable")

    async def agents() -> list[Any]:
        asks = (cache_provider.get_or_set_async("k", failing) for _ in range(16))
        return list(await asyncio.gather(*asks, return_exceptions=True))

    results = asyncio.run(agents())
    assert len(calls) == 1
    assert all(isinstance(result, RuntimeError) for result in results)
    assert cache_provider.exists("k") is False
    assert cache_provider.get_or_set("k", lambda: "second try") == "second try"
    compute = cache_provider.get_stats()["compute"]
    assert compute["compute_errors"] == 1
    assert compute["computes"] == 1


def test_a_cancelled_waiter_leaves_the_others_unharmed(cache_provider: ICacheProvider) -> None:
    model = CountingModel()

    async def agents() -> list[Any]:
        tasks = [asyncio.ensure_future(cache_provider.get_or_set_async("k", model.ask)) for _ in range(8)]
        await model.started()
        await asyncio.sleep(0.02)  # the others find the flight (or the lease) and wait
        # A waiter: any task but the one computing (with a near cache each first read is its own
        # round trip, so the leader is not necessarily the first task).
        waiter = next(index for index, task in enumerate(tasks) if task is not model.tasks[0])
        tasks[waiter].cancel()
        return [waiter, *await asyncio.gather(*tasks, return_exceptions=True)]

    waiter, *results = asyncio.run(agents())
    assert isinstance(results.pop(waiter), asyncio.CancelledError)
    assert results == ["answer to p"] * 7
    assert model.calls == 1


def test_cancelling_the_computing_caller_lets_a_waiter_take_over(cache_provider: ICacheProvider) -> None:
    model = CountingModel()

    async def agents() -> list[Any]:
        tasks = [asyncio.ensure_future(cache_provider.get_or_set_async("k", model.ask)) for _ in range(4)]
        await model.started()
        # The leader, mid-computation: whichever task's first read came back first (with a near
        # cache each read is its own round trip, so not necessarily the first task).
        leader = tasks.index(model.tasks[0])  # type: ignore[arg-type]
        tasks[leader].cancel()
        return [leader, *await asyncio.gather(*tasks, return_exceptions=True)]

    started = time.monotonic()
    leader, *results = asyncio.run(agents())
    assert time.monotonic() - started < 5  # the waiter took over at once, not after a lease time
    assert isinstance(results.pop(leader), asyncio.CancelledError)
    assert results == ["answer to p"] * 3
    assert model.calls == 2  # the abandoned computation, and the one a waiter took over
    assert cache_provider.get("k") == "answer to p"


def test_a_caller_cancelled_while_taking_the_lease_does_not_keep_it(cache_provider: ICacheProvider) -> None:
    """Cancelled at any moment of the lease request (sent or not), the caller leaves no lease
    behind: the next caller computes at once instead of waiting out the lease time."""
    model = CountingModel(0)

    async def cancelled_at(iterations: int) -> None:
        task = asyncio.ensure_future(cache_provider.get_or_set_async(f"k{iterations}", model.ask))
        for _ in range(iterations):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def scenario() -> None:
        for iterations in range(12):
            await cancelled_at(iterations)
            started = time.monotonic()
            answer = await cache_provider.get_or_set_async(f"k{iterations}", model.ask, lease_ttl=30)
            assert answer == "answer to p"
            assert time.monotonic() - started < 2, f"waited for a lease left at iteration {iterations}"

    asyncio.run(scenario())


def test_a_waiter_computes_itself_after_wait_timeout(cache_provider: ICacheProvider) -> None:
    slow, quick = CountingModel(1.0), CountingModel(0)

    async def agents() -> list[Any]:
        leader = asyncio.ensure_future(cache_provider.get_or_set_async("k", slow.ask))
        await slow.started()
        waiter = cache_provider.get_or_set_async("k", quick.ask, wait_timeout=0.2)
        started = time.monotonic()
        answer = await waiter
        waited = time.monotonic() - started
        return [answer, waited, await leader]

    answer, waited, first = asyncio.run(agents())
    assert answer == "answer to p"
    assert 0.15 < waited < 0.8
    assert quick.calls == 1
    assert first == "answer to p"
    assert cache_provider.get_stats()["compute"]["lock_timeouts"] >= 1


def test_sync_compute_returning_an_awaitable_is_refused(cache_provider: ICacheProvider) -> None:
    async def coroutine() -> str:
        return "v"

    with pytest.raises(TypeError, match="get_or_set_async"):
        cache_provider.get_or_set("k", coroutine)
    assert cache_provider.exists("k") is False


def test_bad_arguments_fail_clearly(cache_provider: ICacheProvider) -> None:
    with pytest.raises(TypeError, match="compute must be a zero-argument callable"):
        cache_provider.get_or_set("k", "not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown option"):
        cache_provider.get_or_set("k", lambda: 1, lease_time=3)
    with pytest.raises(ValueError, match="ttl"):
        cache_provider.get_or_set("k", lambda: 1, ttl=-1)
    with pytest.raises(TypeError, match="cache key"):
        cache_provider.get_or_set(7, lambda: 1)  # type: ignore[arg-type]
