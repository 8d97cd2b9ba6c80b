"""Concurrent get_async/set_async calls of one event loop share one MGET / one script call.

Each caller still gets its own value, its own miss or error and its own stats; cancelling one
caller (the batch's leader included) never disturbs the others; and every call stays bounded by
the socket timeouts when the server hangs (SIGSTOP), exactly as a call of its own would be. A lone
caller, with nobody to batch with, pays for none of it: it costs what redis.asyncio's own call costs.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import selectors
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVarTuple

import pytest
import redis.asyncio

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.batch_writes import SET_ENTRIES
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import CacheUnavailableError
from tests.integration._redis_helpers import monitored
from tests.redis_servers import RedisEndpoint, RedisServer

pytestmark = pytest.mark.redis

MakeRedis = Callable[..., RedisCacheProvider]
_Ts = TypeVarTuple("_Ts")
SOCKET_TIMEOUT = 0.2
#: Scheduling noise on a busy 2-core machine, on top of the timeouts.
SLACK = 0.3


def test_concurrent_gets_are_one_mget_and_each_caller_gets_its_own_value(
    make_redis_provider: MakeRedis, redis_endpoint: RedisEndpoint
) -> None:
    p = make_redis_provider()
    p.set_many({f"k{i}": i for i in range(40)})

    async def scenario() -> list[object]:
        return list(await asyncio.gather(*(p.get_async(f"k{i}", "miss") for i in range(50))))

    with monitored(redis_endpoint) as commands:
        values = asyncio.run(scenario())
    assert values == [*range(40), *["miss"] * 10]
    ours = [command for command in commands if p.config.key_prefix in command]
    assert [command.split()[0] for command in ours] == ["MGET"]
    stats = p.get_stats()
    assert (stats["hits"], stats["misses"], stats["errors"]) == (40, 10, 0)


def test_concurrent_sets_are_one_script_call_each_with_its_own_ttl(
    make_redis_provider: MakeRedis, redis_endpoint: RedisEndpoint
) -> None:
    p = make_redis_provider(default_ttl=60)
    raw = redis_endpoint.client()
    raw.script_load(SET_ENTRIES)

    async def scenario() -> None:
        await asyncio.gather(
            p.set_async("default", 1), p.set_async("short", 2, ttl=1.5), p.set_async("forever", 3, ttl=0)
        )

    try:
        with monitored(redis_endpoint) as commands:
            asyncio.run(scenario())
        prefix = p.config.key_prefix
        ours = [command for command in commands if prefix in command]
        assert [command.split()[0] for command in ours] == ["EVALSHA", "SET", "SET", "SET"]
        assert 59_000 < raw.pttl(f"{prefix}default") <= 60_000
        assert 1_400 < raw.pttl(f"{prefix}short") <= 1_500
        assert raw.pttl(f"{prefix}forever") == -1
    finally:
        raw.close()
    assert p.get_many(["default", "short", "forever"]) == {"default": 1, "short": 2, "forever": 3}
    assert p.get_stats()["sets"] == 3


def test_same_key_set_twice_at_once_keeps_the_later_call(make_redis_provider: MakeRedis) -> None:
    p = make_redis_provider()

    async def scenario() -> None:
        await asyncio.gather(p.set_async("k", "first"), p.set_async("k", "second"))

    asyncio.run(scenario())
    assert p.get("k") == "second"


def test_an_undecodable_payload_is_a_miss_for_its_caller_only(
    make_redis_provider: MakeRedis, redis_endpoint: RedisEndpoint
) -> None:
    p = make_redis_provider()
    p.set_many({"a": 1, "b": 2})
    raw = redis_endpoint.client()
    try:
        raw.set(f"{p.config.key_prefix}foreign", b"written by another program")
    finally:
        raw.close()

    async def scenario() -> list[object]:
        return list(await asyncio.gather(p.get_async("a"), p.get_async("foreign", "miss"), p.get_async("b")))

    assert asyncio.run(scenario()) == [1, "miss", 2]
    stats = p.get_stats()
    assert (stats["hits"], stats["misses"], stats["errors_by_kind"]) == (2, 1, {"decode": 1})


@pytest.mark.parametrize("victim", [0, 3], ids=["leader", "follower"])
def test_cancelling_one_caller_leaves_the_others_their_replies(
    make_redis_provider: MakeRedis, victim: int
) -> None:
    p = make_redis_provider()
    p.set_many({f"k{i}": i for i in range(8)})

    async def scenario() -> list[object]:
        tasks = [asyncio.create_task(p.get_async(f"k{i}")) for i in range(8)]
        await asyncio.sleep(0)  # every task has joined the batch; the first one leads it
        tasks[victim].cancel()
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    outcomes = asyncio.run(scenario())
    assert isinstance(outcomes[victim], asyncio.CancelledError)
    assert [outcome for i, outcome in enumerate(outcomes) if i != victim] == [
        i for i in range(8) if i != victim
    ]


class _CountingSelector(selectors.DefaultSelector):
    """Counts the event loop's iterations: each one polls the selector once."""

    polls = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.polls += 1
        return super().select(timeout)


class _CountingLoop(asyncio.SelectorEventLoop):
    """Counts the timers armed: ``asyncio.timeout``, ``wait_for`` and ``call_later`` all call ``call_at``."""

    timers = 0

    def call_at(
        self,
        when: float,
        callback: Callable[[*_Ts], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        self.timers += 1
        return super().call_at(when, callback, *args, context=context)


async def _cost_per_call(
    loop: _CountingLoop, selector: _CountingSelector, call: Callable[[], Awaitable[object]], calls: int = 200
) -> tuple[float, float]:
    """Loop iterations and timers per call of ``call``, awaited one at a time by one task."""
    await call()  # connects
    polls, timers = selector.polls, loop.timers
    for _ in range(calls):
        await call()
    return (selector.polls - polls) / calls, (loop.timers - timers) / calls


@pytest.mark.parametrize("command", ["get", "set"])
def test_a_lone_caller_costs_what_a_redis_asyncio_call_costs(
    make_redis_provider: MakeRedis, redis_endpoint: RedisEndpoint, command: str
) -> None:
    """One task awaiting one call at a time (a request handler) goes straight to the wire: no loop
    iteration spent waiting for a batch nobody could join, no timer for a pool wait that an idle
    connection cannot need. Counted, not timed: the same iterations and timers as redis.asyncio's
    own client (default pool and timeouts) sending the same command."""
    p = make_redis_provider()
    selector = _CountingSelector()
    loop = _CountingLoop(selector)
    name = f"{p.config.key_prefix}raw"

    async def scenario() -> tuple[tuple[float, float], tuple[float, float]]:
        raw = redis.asyncio.Redis.from_url(redis_endpoint.url)
        try:
            if command == "get":
                ours = await _cost_per_call(loop, selector, lambda: p.get_async("k"))
                theirs = await _cost_per_call(loop, selector, lambda: raw.get(name))
            else:
                ours = await _cost_per_call(loop, selector, lambda: p.set_async("k", "v"))
                theirs = await _cost_per_call(loop, selector, lambda: raw.set(name, b"v", px=60_000))
            return ours, theirs
        finally:
            await raw.aclose()
            await p.aclose()

    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        (our_polls, our_timers), (raw_polls, raw_timers) = runner.run(scenario())
    assert our_timers == raw_timers, (our_timers, raw_timers)
    # An iteration more or less when a reply lands early: on average, no extra iteration.
    assert our_polls <= raw_polls + 0.5, (our_polls, raw_polls)


@pytest.fixture
def paused_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def hanging_provider(server: RedisServer) -> RedisCacheProvider:
    return RedisCacheProvider(
        RedisCacheConfig(
            enabled=True,
            url=server.url,
            key_prefix=f"test:{uuid.uuid4().hex}:",
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            retries=1,
        )
    )


@pytest.mark.parametrize("tasks", [1, 64])
def test_every_call_on_a_hung_server_fails_within_its_timeouts(
    paused_server: RedisServer, tasks: int
) -> None:
    """SIGSTOP: connections stay open, nothing answers. Half the tasks GET, half SET, all at once."""
    provider = hanging_provider(paused_server)
    bound = 2 * SOCKET_TIMEOUT  # retries + 1 attempts, one socket timeout each

    async def one(i: int) -> float:
        call = provider.set_async(f"k{i}", i) if i % 2 else provider.get_async(f"k{i}")
        started = time.perf_counter()
        with pytest.raises(CacheUnavailableError, match=r"\(timeout\)"):
            await call
        return time.perf_counter() - started

    async def scenario() -> list[float]:
        await provider.get_async("warm")  # a pooled connection, as under steady traffic
        paused_server.pause()
        try:
            return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(tasks))), timeout=10)
        finally:
            paused_server.resume()

    try:
        durations = asyncio.run(scenario())
    finally:
        provider.close()
    assert len(durations) == tasks
    assert max(durations) <= bound + SLACK, max(durations)
    assert min(durations) >= bound * 0.9
    assert provider.get_stats()["errors_by_kind"] == {"timeout": tasks}


def test_set_many_falls_back_to_a_pipeline_where_scripts_are_refused(
    paused_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    admin = paused_server.client()
    try:
        admin.acl_setuser(
            "noscript", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-@scripting"]
        )
    finally:
        admin.close()
    url = paused_server.url.replace("redis://", "redis://noscript:pw@")
    provider = RedisCacheProvider(RedisCacheConfig(enabled=True, url=url, key_prefix="t:"))
    try:
        with caplog.at_level(logging.WARNING):
            provider.set_many({"a": 1, "b": 2})
            provider.set_many({"c": 3})
            asyncio.run(provider.set_many_async({"d": 4}))
        assert provider.get_many(["a", "b", "c", "d"]) == {"a": 1, "b": 2, "c": 3, "d": 4}
    finally:
        provider.close()
    refusals = [r for r in caplog.records if "scripts refused" in r.getMessage()]
    assert len(refusals) == 2  # once for the sync client, once for the event loop's client


def test_set_many_reloads_its_script_after_the_server_forgot_it(
    make_redis_provider: MakeRedis, redis_endpoint: RedisEndpoint
) -> None:
    p = make_redis_provider()
    p.set_many({"a": 1})
    raw = redis_endpoint.client()
    try:
        raw.script_flush()
    finally:
        raw.close()
    p.set_many({"b": 2})
    assert p.get_many(["a", "b"]) == {"a": 1, "b": 2}
