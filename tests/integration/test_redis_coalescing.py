"""Concurrent get_async/set_async calls of one event loop share one MGET / one script call.

Each caller still gets its own value, its own miss or error and its own stats; cancelling one
caller (the batch's leader included) never disturbs the others; and every call stays bounded by
the socket timeouts when the server hangs (SIGSTOP), exactly as a call of its own would be.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.batch_writes import SET_ENTRIES
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import CacheUnavailableError
from tests.integration._redis_helpers import monitored
from tests.redis_servers import RedisEndpoint, RedisServer

pytestmark = pytest.mark.redis

MakeRedis = Callable[..., RedisCacheProvider]
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
