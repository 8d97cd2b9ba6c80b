"""How long a call may wait on a Redis that accepts connections but never answers (SIGSTOP).

One call, sync or async, on a pooled or a brand-new connection, fails with CacheUnavailableError
after ``(retries + 1) * socket_timeout`` - not the ``(retries + 1)²`` a health-check PING nested in
redis-py's connect retries would cost (``health_check_interval`` > 0, measured here too). Callers
beyond ``max_connections`` wait ``connection_pool.timeout``, then get a clear error: no deadlock.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from src.infrastructure.cache.config.cache_config import ConnectionPoolConfig
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import CacheUnavailableError
from tests.faults.conftest import SOCKET_TIMEOUT, MakeResilient, fast_failing
from tests.redis_servers import INSTALL_REDIS_SERVER, RedisServer

pytestmark = pytest.mark.redis

#: Timer and scheduling noise on top of the timeouts, for one caller on an otherwise idle machine.
EPSILON = 0.1
#: Shorter than the socket timeout, so callers waiting for a connection give up before one frees.
POOL_TIMEOUT = 0.15


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    """One server for the module: each test pauses it and resumes it before it ends."""
    import shutil

    if not shutil.which("redis-server"):
        pytest.fail(f"these tests start their own redis-server; {INSTALL_REDIS_SERVER}", pytrace=False)
    with RedisServer() as running:
        yield running


def timed_failure(server: RedisServer, provider: RedisCacheProvider, use_async: bool, warm: bool) -> float:
    """Pause the server; return the seconds one ``get`` took to fail with CacheUnavailableError."""

    def sync_call() -> None:
        if warm:
            provider.get("k")  # leaves its connection in the pool
        server.pause()
        provider.get("k")

    async def async_call() -> None:
        if warm:
            await provider.get_async("k")  # the pool of this event loop keeps the connection
        server.pause()
        await provider.get_async("k")

    started = time.perf_counter()
    try:
        with pytest.raises(CacheUnavailableError, match=r"\(timeout\)"):
            asyncio.run(async_call()) if use_async else sync_call()
    finally:
        server.resume()
        provider.close()
    return time.perf_counter() - started


@pytest.mark.parametrize("retries", [0, 1, 2])
@pytest.mark.parametrize("warm", [True, False], ids=["pooled-connection", "new-connection"])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_call_to_a_hung_server_fails_within_retries_plus_one_timeouts(
    server: RedisServer, retries: int, warm: bool, use_async: bool
) -> None:
    provider = RedisCacheProvider(fast_failing(server.url, retries=retries))
    waited = timed_failure(server, provider, use_async, warm)
    bound = (retries + 1) * SOCKET_TIMEOUT
    print(f"retries={retries} warm={warm} async={use_async}: {waited:.3f}s (bound {bound:.2f}s)")
    assert bound * 0.9 <= waited <= bound + EPSILON


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_health_check_interval_nests_retries_on_a_new_connection(
    server: RedisServer, use_async: bool
) -> None:
    """Why ``health_check_interval`` defaults to 0: redis-py's health-check PING has retries of its
    own inside each connect attempt, so a new connection to a hung server costs (retries + 1)²."""
    provider = RedisCacheProvider(fast_failing(server.url, retries=1, health_check_interval=30))
    waited = timed_failure(server, provider, use_async, warm=False)
    assert 4 * SOCKET_TIMEOUT * 0.9 <= waited <= 4 * SOCKET_TIMEOUT + EPSILON


def test_threads_beyond_max_connections_wait_the_pool_timeout_then_fail_clearly(
    server: RedisServer, make_resilient: MakeResilient
) -> None:
    pool = ConnectionPoolConfig(max_connections=2, timeout=POOL_TIMEOUT)
    cache = make_resilient(server.url, on_error="raise", retries=0, connection_pool=pool)
    cache.get("k")
    errors: list[str] = []
    durations: list[float] = []

    def call() -> None:
        started = time.perf_counter()
        try:
            cache.primary.get("k")  # straight to Redis: the breaker would spare the later callers
        except CacheUnavailableError as exc:
            errors.append(str(exc))
        durations.append(time.perf_counter() - started)

    threads = [threading.Thread(target=call, daemon=True) for _ in range(8)]
    server.pause()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=5)
    finally:
        server.resume()
    assert not any(thread.is_alive() for thread in threads)  # nobody deadlocked
    assert len(errors) == 8
    assert sum("(timeout)" in error for error in errors) == 2  # the two that got a connection
    assert sum("(pool_exhausted)" in error and "No connection available" in error for error in errors) == 6
    assert max(durations) <= SOCKET_TIMEOUT + EPSILON
    assert cache.get("k") is None  # connections came back to the pool


def test_tasks_beyond_max_connections_wait_the_pool_timeout_then_fail_clearly(
    server: RedisServer, make_resilient: MakeResilient
) -> None:
    pool = ConnectionPoolConfig(max_connections=2, timeout=POOL_TIMEOUT)
    cache = make_resilient(server.url, on_error="raise", retries=0, connection_pool=pool)

    async def scenario() -> list[bool | BaseException]:
        await cache.get_async("k")
        server.pause()
        try:
            return await asyncio.wait_for(
                asyncio.gather(  # EXISTS: concurrent GETs would share one MGET (see coalescing.py)
                    *(cache.primary.exists_async("k") for _ in range(8)), return_exceptions=True
                ),
                timeout=5,  # a deadlock fails the test instead of hanging it
            )
        finally:
            server.resume()

    started = time.perf_counter()
    outcomes = asyncio.run(scenario())
    assert time.perf_counter() - started <= SOCKET_TIMEOUT + EPSILON
    assert all(isinstance(outcome, CacheUnavailableError) for outcome in outcomes)
    kinds = sorted(str(outcome).split("(")[1].split(")")[0] for outcome in outcomes)
    assert kinds == ["pool_exhausted"] * 6 + ["timeout"] * 2
