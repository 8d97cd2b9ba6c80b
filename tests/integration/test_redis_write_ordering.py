"""A write that was cancelled or timed out never lands after a later write of the same key.

Guarantee (issue 9, defect 1): once ``set_async``/``delete_async`` of a key has returned (or
raised), no write issued by an earlier call of the same process - cancelled, or timed out under
``asyncio.timeout``/``wait_for`` - can land after it. The dangerous case is a coalesced batch: it
runs as a task of its own and may take several round trips (``EVALSHA``, ``NOSCRIPT``,
``SCRIPT LOAD``, ``EVALSHA`` again when the script is not in the server's cache), so a caller that
stopped waiting for it must not return before it is done.

Each case cancels the first write after a given number of event-loop iterations, so that every
moment of the batch's life is hit: before it is sent, while its first command is in flight, during
the reload of the script.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from tests.redis_servers import RedisEndpoint

pytestmark = pytest.mark.redis

MakeRedis = Callable[..., RedisCacheProvider]
#: Event-loop iterations to let pass before the first write is cancelled.
ITERATIONS = range(8)


async def _time_out_beside(
    iterations: int, write: Awaitable[None], neighbour: Awaitable[None], write_leads: bool
) -> asyncio.Future[None]:
    """Start ``write`` and ``neighbour`` together (one batch; the first started leads it), time
    ``write`` out after ``iterations`` loop iterations, and return the neighbour, still running."""
    loop = asyncio.get_running_loop()
    neighbour_task: asyncio.Future[None] | None = None
    try:
        async with asyncio.timeout(None) as deadline:
            if not write_leads:
                neighbour_task = asyncio.ensure_future(neighbour)
            write_task = asyncio.ensure_future(write)
            if neighbour_task is None:
                neighbour_task = asyncio.ensure_future(neighbour)
            for _ in range(iterations):
                await asyncio.sleep(0)
            deadline.reschedule(loop.time())  # expires at the next iteration, wherever the write is
            await write_task
    except TimeoutError:
        pass
    assert neighbour_task is not None
    return neighbour_task


@pytest.mark.parametrize("script_cached", [False, True], ids=["script-flushed", "script-cached"])
@pytest.mark.parametrize("role", ["leader", "follower"])
@pytest.mark.parametrize("iterations", ITERATIONS)
def test_a_timed_out_set_never_overwrites_a_later_acknowledged_set(
    make_redis_provider: MakeRedis,
    redis_endpoint: RedisEndpoint,
    script_cached: bool,
    role: str,
    iterations: int,
) -> None:
    p = make_redis_provider()
    raw = redis_endpoint.client()

    async def scenario() -> None:
        if not script_cached:
            raw.script_flush()  # the batch then needs NOSCRIPT + SCRIPT LOAD + EVALSHA
        neighbour = await _time_out_beside(
            iterations, p.set_async("k", "old"), p.set_async("neighbour", 1), write_leads=role == "leader"
        )
        await p.set_async("k", "new")  # acknowledged: nothing earlier may land after this
        await neighbour
        await asyncio.sleep(0.2)  # any write still under way lands by now

    try:
        asyncio.run(scenario())
        assert p.get("k") == "new"
    finally:
        raw.close()


@pytest.mark.parametrize("iterations", ITERATIONS)
def test_a_timed_out_set_never_resurrects_a_key_deleted_after_it(
    make_redis_provider: MakeRedis, redis_endpoint: RedisEndpoint, iterations: int
) -> None:
    p = make_redis_provider()
    raw = redis_endpoint.client()

    async def scenario() -> None:
        raw.script_flush()
        neighbour = await _time_out_beside(
            iterations, p.set_async("k", "old"), p.set_async("neighbour", 1), write_leads=False
        )
        await p.delete_async("k")
        await neighbour
        await asyncio.sleep(0.2)

    try:
        asyncio.run(scenario())
        assert p.exists("k") is False
    finally:
        raw.close()


def test_a_cancelled_caller_does_not_disturb_its_neighbours_write(make_redis_provider: MakeRedis) -> None:
    """Waiting for the shared batch is the cancelled caller's own business: the neighbour's write
    lands and its caller returns normally."""
    p = make_redis_provider()

    async def scenario() -> None:
        neighbour = await _time_out_beside(
            3, p.set_async("k", "old"), p.set_async("neighbour", "kept"), write_leads=False
        )
        await neighbour

    asyncio.run(scenario())
    assert p.get("neighbour") == "kept"
