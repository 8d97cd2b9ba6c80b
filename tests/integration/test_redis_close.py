"""``close()``/``aclose()`` while other threads and tasks still call: what ``shutdown_resources()``
does to workers that have not stopped yet.

The contract lets a call racing a close succeed or raise a ``CacheError``, never a raw library
error (redis-py's ``TypeError`` or ``AttributeError`` from a socket pulled away mid-command). These
tests check more: closing never touches a connection in use (see ``pools``), so every racing call
succeeds, and each connection in use is closed once its call returns it. The provider stays usable:
the next call opens new connections.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

import pytest

from src.infrastructure.cache.config.cache_config import ConnectionPoolConfig, RedisCacheConfig
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import CacheError
from tests.conftest import unique_prefix
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis

MakeRedis = Callable[..., RedisCacheProvider]


@pytest.fixture(params=["redis", "redis_sentinel", "redis_cluster"])
def make_provider(request: pytest.FixtureRequest) -> MakeRedis:
    """Each topology's provider factory: close() differs by the pools each one uses."""
    factory: MakeRedis = request.getfixturevalue(f"make_{request.param}_provider")
    return factory


RACE_SECONDS = 1.0
WORKERS = 8
POOL = ConnectionPoolConfig(max_connections=WORKERS, timeout=5.0)


class Outcomes:
    """What the workers saw: calls that went through, CacheErrors, anything else (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.cache_errors: list[CacheError] = []
        self.raw_errors: list[BaseException] = []

    def record(self, error: BaseException | None) -> None:
        with self._lock:
            if error is None:
                self.calls += 1
            elif isinstance(error, CacheError):
                self.cache_errors.append(error)
            else:
                self.raw_errors.append(error)

    def raw(self) -> list[str]:
        return [f"{type(error).__name__}: {error}" for error in self.raw_errors]


def _sync_round(provider: RedisCacheProvider, worker: int, i: int) -> None:
    provider.set(f"w{worker}", i)
    provider.get(f"w{worker}")
    provider.set_many({f"w{worker}-a": i, f"w{worker}-b": [i]})
    provider.get_many([f"w{worker}-a", f"w{worker}-b"])
    provider.exists(f"w{worker}")


async def _async_round(provider: RedisCacheProvider, worker: int, i: int) -> None:
    await provider.set_async(f"w{worker}", i)
    await provider.get_async(f"w{worker}")
    await provider.set_many_async({f"w{worker}-a": i, f"w{worker}-b": [i]})
    await provider.get_many_async([f"w{worker}-a", f"w{worker}-b"])
    await provider.exists_async(f"w{worker}")


def _call(outcomes: Outcomes, call: Callable[[], None]) -> None:
    try:
        call()
    except Exception as exc:  # the point of the test: sort whatever comes out
        outcomes.record(exc)
    else:
        outcomes.record(None)


async def _acall(outcomes: Outcomes, call: Callable[[], Awaitable[None]]) -> None:
    try:
        await call()
    except Exception as exc:
        outcomes.record(exc)
    else:
        outcomes.record(None)


@contextmanager
def _threads(stop: threading.Event, targets: Sequence[Callable[[], None]]) -> Iterator[None]:
    """Run ``targets`` in threads during the ``with`` block; on exit set ``stop`` and join them."""
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads), "a worker did not stop"


def _close_repeatedly(provider: RedisCacheProvider, seconds: float) -> int:
    closes, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        provider.close()
        closes += 1
        time.sleep(0.002)  # let the workers get connections again between closes
    return closes


def _assert_usable(provider: RedisCacheProvider) -> None:
    provider.set("after-close", {"ok": True})
    assert provider.get("after-close") == {"ok": True}
    assert asyncio.run(provider.get_async("after-close")) == {"ok": True}


def test_close_while_threads_call_lets_no_library_error_through(make_provider: MakeRedis) -> None:
    provider = make_provider(connection_pool=POOL)
    outcomes, stop = Outcomes(), threading.Event()

    def worker(n: int) -> Callable[[], None]:
        def run() -> None:
            i = 0
            while not stop.is_set():
                _call(outcomes, partial(_sync_round, provider, n, i))
                i += 1

        return run

    with _threads(stop, [worker(n) for n in range(WORKERS)]):
        closes = _close_repeatedly(provider, RACE_SECONDS)
    assert outcomes.raw() == []
    # close() disconnects only idle connections; one in use is closed when its call returns it,
    # so a call in flight is not disturbed at all.
    assert outcomes.cache_errors == []
    assert closes > 20  # the race really ran: many closes, calls on both sides of each
    assert outcomes.calls > 10
    _assert_usable(provider)
    assert provider.get_stats()["pool"]["in_use"] == 0


def _loop_worker(provider: RedisCacheProvider, outcomes: Outcomes, stop: threading.Event, n: int) -> None:
    """One event loop in this thread, running ``WORKERS`` tasks until ``stop``."""

    async def task(t: int) -> None:
        i = 0
        while not stop.is_set():
            await _acall(outcomes, partial(_async_round, provider, n * WORKERS + t, i))
            i += 1

    async def main() -> None:
        await asyncio.gather(*(task(t) for t in range(WORKERS)))

    asyncio.run(main())


def test_close_while_other_threads_loops_call_lets_no_library_error_through(
    make_provider: MakeRedis,
) -> None:
    provider = make_provider(connection_pool=POOL)
    outcomes, stop = Outcomes(), threading.Event()
    with _threads(stop, [partial(_loop_worker, provider, outcomes, stop, n) for n in range(3)]):
        closes = _close_repeatedly(provider, RACE_SECONDS)
    assert outcomes.raw() == []
    assert outcomes.cache_errors == []
    assert closes > 20  # the race really ran: many closes, calls on both sides of each
    assert outcomes.calls > 10
    _assert_usable(provider)


async def test_aclose_while_tasks_of_the_same_loop_call_lets_no_library_error_through(
    make_provider: MakeRedis,
) -> None:
    provider = make_provider(connection_pool=POOL)
    outcomes = Outcomes()
    stop = asyncio.Event()

    async def task(t: int) -> None:
        i = 0
        while not stop.is_set():
            await _acall(outcomes, partial(_async_round, provider, t, i))
            i += 1

    async def closer() -> int:
        closes, deadline = 0, time.monotonic() + RACE_SECONDS
        while time.monotonic() < deadline:
            await provider.aclose()
            closes += 1
            await asyncio.sleep(0.002)
        stop.set()
        return closes

    workers = asyncio.gather(*(task(t) for t in range(WORKERS)))
    closes = await closer()
    await workers
    assert outcomes.raw() == []
    assert outcomes.cache_errors == []
    assert closes > 20  # the race really ran: many closes, calls on both sides of each
    assert outcomes.calls > 10
    await provider.set_async("after-close", 1)
    assert await provider.get_async("after-close") == 1


def _connected_clients(server: RedisServer) -> int:
    """Connections the server has open, this inspecting client's included."""
    admin = server.client()
    try:
        return int(admin.info("clients")["connected_clients"])
    finally:
        admin.close()


def _own_server_provider(server: RedisServer) -> RedisCacheProvider:
    # Socket timeout well above the pause below: the held calls must complete, not time out.
    config = RedisCacheConfig(
        enabled=True, url=server.url, key_prefix=unique_prefix(), socket_timeout=5.0, connection_pool=POOL
    )
    return RedisCacheProvider(config)


def test_close_lets_calls_in_flight_finish_then_closes_their_connections(redis_process: RedisServer) -> None:
    provider = _own_server_provider(redis_process)
    provider.set_many({f"k{n}": n for n in range(4)})
    results: list[object] = []

    def one_call(n: int) -> None:
        _call(Outcomes(), lambda: results.append(provider.get(f"k{n}")))

    redis_process.pause()  # every call sent from now on waits for its reply: in flight
    callers = [threading.Thread(target=one_call, args=(n,)) for n in range(4)]
    for caller in callers:
        caller.start()
    time.sleep(0.3)
    provider.close()  # 4 connections in use, idle ones (if any) closed now
    redis_process.resume()
    for caller in callers:
        caller.join(timeout=10)
    assert sorted(results) == [0, 1, 2, 3]  # type: ignore[type-var]  # each call got its reply
    # Each connection was closed when its call returned it: only the inspecting client is left.
    assert _connected_clients(redis_process) == 1
    assert provider.get("k0") == 0  # and the provider reconnects
    provider.close()


async def test_aclose_lets_calls_in_flight_finish_then_closes_their_connections(
    redis_process: RedisServer,
) -> None:
    provider = _own_server_provider(redis_process)
    await provider.set_many_async({f"k{n}": n for n in range(4)})
    redis_process.pause()
    calls = [asyncio.create_task(provider.exists_async(f"k{n}")) for n in range(4)]
    await asyncio.sleep(0.3)
    await provider.aclose()
    redis_process.resume()
    assert await asyncio.gather(*calls) == [True] * 4
    assert await asyncio.to_thread(_connected_clients, redis_process) == 1
    assert await provider.get_async("k0") == 0
    await provider.aclose()
