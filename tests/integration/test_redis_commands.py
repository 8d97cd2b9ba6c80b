"""What each operation sends to Redis: one command of the expected shape, TTLs in milliseconds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from src.infrastructure.cache.providers.redis.batch_writes import SET_ENTRIES
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from tests.integration._redis_helpers import monitored
from tests.redis_servers import RedisEndpoint

pytestmark = pytest.mark.redis

FORBIDDEN = {"FLUSHDB", "FLUSHALL", "KEYS", "MULTI", "EXEC"}


def loaded_script(endpoint: RedisEndpoint) -> None:
    """Load the batch-write script first, so the recording holds no NOSCRIPT-then-load retry."""
    raw = endpoint.client()
    try:
        raw.script_load(SET_ENTRIES)
    finally:
        raw.close()


def test_each_sync_operation_is_one_command(
    redis_provider: RedisCacheProvider, redis_endpoint: RedisEndpoint
) -> None:
    p = redis_provider
    loaded_script(redis_endpoint)
    with monitored(redis_endpoint) as commands:
        p.set("a", 1, ttl=1.5)
        p.set("b", 2, ttl=0)
        p.get("a")
        p.get_many(["a", "b", "c", "a"])
        p.set_many({"c": 3, "d": 4}, ttl=0.25)
        p.exists("a")
        p.delete("a")
        p.delete_many(["b", "c", "x"])
        p.clear()
    prefix = p.config.key_prefix
    ours = [command for command in commands if prefix in command]
    # set_many is one EVALSHA of the batch-write script; MONITOR also shows the SETs it runs.
    assert [command.split()[0] for command in ours] == [
        *(
            "SET",
            "SET",
            "GET",
            "MGET",
            "EVALSHA",
            "SET",
            "SET",
            "GETRANGE",  # exists: the first byte tells an entry from a value still being computed
            "UNLINK",
            "UNLINK",
            "SCAN",
            "UNLINK",
        )
    ]
    assert ours[0].endswith(" PX 1500")  # value and TTL in one SET: never a SET then an EXPIRE
    assert " PX " not in ours[1]  # TTL 0: no expiry at all
    assert ours[3] == f"MGET {prefix}a {prefix}b {prefix}c"  # duplicates asked once
    assert f" 2 {prefix}c {prefix}d " in ours[4]
    assert ours[5].endswith(" PX 250")
    assert ours[6].endswith(" PX 250")
    assert ours[7] == f"GETRANGE {prefix}a 0 0"
    assert ours[9] == f"UNLINK {prefix}b {prefix}c {prefix}x"
    assert ours[10] == f"SCAN 0 MATCH {prefix}* COUNT 500"
    assert ours[11] == f"UNLINK {prefix}d"
    assert not {command.split()[0].upper() for command in commands} & FORBIDDEN


def test_each_async_operation_is_one_command(
    redis_provider: RedisCacheProvider, redis_endpoint: RedisEndpoint
) -> None:
    p = redis_provider

    async def operations() -> None:
        await p.set_async("a", 1, ttl=0.5)
        await p.get_async("a")
        await p.get_many_async(["a", "b"])
        await p.set_many_async({"b": 2, "c": 3})  # default_ttl 60 s
        await p.delete_many_async(["a", "b"])
        await p.clear_async()

    loaded_script(redis_endpoint)
    with monitored(redis_endpoint) as commands:
        asyncio.run(operations())
    prefix = p.config.key_prefix
    ours = [command for command in commands if prefix in command]
    assert [command.split()[0] for command in ours] == [
        "SET",
        "GET",
        "MGET",
        "EVALSHA",
        "SET",
        "SET",
        "UNLINK",
        "SCAN",
        "UNLINK",
    ]
    assert ours[0].endswith(" PX 500")
    assert ours[4].endswith(" PX 60000")
    assert ours[5].endswith(" PX 60000")
    assert not {command.split()[0].upper() for command in commands} & FORBIDDEN


def test_ttls_reach_the_server_in_milliseconds(
    make_redis_provider: Callable[..., RedisCacheProvider], redis_endpoint: RedisEndpoint
) -> None:
    p = make_redis_provider(default_ttl=60)
    raw = redis_endpoint.client()
    prefix = p.config.key_prefix
    try:
        p.set("fraction", 1, ttl=1.5)
        p.set("default", 1)
        p.set("forever", 1, ttl=0)
        p.set_many({"m1": 1, "m2": 2}, ttl=2.25)
        p.set("overwritten", 1, ttl=5)
        p.set("overwritten", 2, ttl=0)  # a new SET replaces the value and its TTL
        assert 1400 < raw.pttl(f"{prefix}fraction") <= 1500
        assert 59_000 < raw.pttl(f"{prefix}default") <= 60_000
        assert raw.pttl(f"{prefix}forever") == -1
        assert all(2150 < raw.pttl(f"{prefix}{key}") <= 2250 for key in ("m1", "m2"))
        assert raw.pttl(f"{prefix}overwritten") == -1
    finally:
        raw.close()
