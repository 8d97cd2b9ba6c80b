"""The asyncio blocking pool's quick checkout of an idle connection keeps the pool's promises.

An idle connection is handed out without the pool's condition and timer (``pools.AsyncBlockingPool``);
these tests hold what that must not change: a task waiting for a connection gets the next one
released at once, whichever way it was checked out, and a wait for a connection of an exhausted
pool still ends after the pool's ``timeout``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from src.infrastructure.cache.providers.redis.pools import AsyncBlockingPool
from tests.redis_servers import RedisEndpoint

pytestmark = pytest.mark.redis

POOL_TIMEOUT = 0.5


@asynccontextmanager
async def one_connection_pool(endpoint: RedisEndpoint) -> AsyncIterator[AsyncBlockingPool]:
    """A pool of at most one connection, already open and idle."""
    pool = AsyncBlockingPool.from_url(endpoint.url, max_connections=1, timeout=POOL_TIMEOUT, socket_timeout=5)
    try:
        await pool.release(await pool.get_connection())
        yield pool
    finally:
        await pool.disconnect()


@pytest.mark.parametrize("holder", ["idle-checkout", "waited-checkout"])
def test_a_waiting_task_gets_the_connection_released_at_once(
    redis_endpoint: RedisEndpoint, holder: str
) -> None:
    async def scenario() -> float:
        async with one_connection_pool(redis_endpoint) as pool:
            if holder == "waited-checkout":  # the holder itself waited for the connection first
                first = await pool.get_connection()
                second = asyncio.ensure_future(pool.get_connection())
                await asyncio.sleep(0.05)
                await pool.release(first)
                held = await second
            else:
                held = await pool.get_connection()
            waiter = asyncio.ensure_future(pool.get_connection())
            await asyncio.sleep(0.05)  # the waiter is waiting on the pool's condition now
            assert not waiter.done()
            released = time.perf_counter()
            await pool.release(held)
            connection = await asyncio.wait_for(waiter, timeout=5)
            waited = time.perf_counter() - released
            assert connection is held  # the one connection, handed over
            await pool.release(connection)
            return waited

    assert asyncio.run(scenario()) < POOL_TIMEOUT / 2


def test_a_wait_for_a_busy_pool_still_ends_after_its_timeout(redis_endpoint: RedisEndpoint) -> None:
    async def scenario() -> float:
        async with one_connection_pool(redis_endpoint) as pool:
            held = await pool.get_connection()
            started = time.perf_counter()
            with pytest.raises(RedisConnectionError, match="No connection available"):
                await pool.get_connection()
            waited = time.perf_counter() - started
            await pool.release(held)
            assert await pool.get_connection() is held  # and the pool works on
            return waited

    waited = asyncio.run(scenario())
    assert POOL_TIMEOUT * 0.9 <= waited <= POOL_TIMEOUT + 0.5
