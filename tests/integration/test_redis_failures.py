"""Failures reach callers as agent-cache errors, quickly, and never carry a secret."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis
import redis.asyncio

from src.infrastructure.cache.config.cache_config import ConnectionPoolConfig, RedisCacheConfig
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.infrastructure.cache.providers.redis.server_transport import AsyncRedisTransport, RedisTransport
from src.interfaces.llm.cache import CacheAccessError, CacheError, CacheUnavailableError
from tests.integration._redis_helpers import unreachable_url, with_credentials
from tests.redis_servers import RedisEndpoint, free_port

pytestmark = pytest.mark.redis

MakeRedis = Callable[..., RedisCacheProvider]
SECRET = "not-the-password-7f3e"

SYNC_CALLS: dict[str, Callable[[RedisCacheProvider], Any]] = {
    "get": lambda p: p.get("k"),
    "set": lambda p: p.set("k", 1),
    "exists": lambda p: p.exists("k"),
    "delete": lambda p: p.delete("k"),
    "get_many": lambda p: p.get_many(["a", "b"]),
    "set_many": lambda p: p.set_many({"a": 1}),
    "delete_many": lambda p: p.delete_many(["a"]),
    "clear": lambda p: p.clear(),
    "get_size": lambda p: p.get_size(),
}
ASYNC_CALLS: dict[str, Callable[[RedisCacheProvider], Awaitable[Any]]] = {
    "get": lambda p: p.get_async("k"),
    "set": lambda p: p.set_async("k", 1),
    "exists": lambda p: p.exists_async("k"),
    "delete": lambda p: p.delete_async("k"),
    "get_many": lambda p: p.get_many_async(["a", "b"]),
    "set_many": lambda p: p.set_many_async({"a": 1}),
    "delete_many": lambda p: p.delete_many_async(["a"]),
    "clear": lambda p: p.clear_async(),
    "get_size": lambda p: p.get_size_async(),
}


def unreachable(**settings: Any) -> RedisCacheProvider:
    return RedisCacheProvider(RedisCacheConfig(enabled=True, url=unreachable_url(), **settings))


@pytest.mark.parametrize("operation", SYNC_CALLS)
def test_connection_refused_is_unavailable_at_once(operation: str) -> None:
    provider = unreachable()
    started = time.perf_counter()
    with pytest.raises(CacheUnavailableError) as raised:
        SYNC_CALLS[operation](provider)
    assert time.perf_counter() - started < 1.0
    assert not isinstance(raised.value, redis.RedisError)
    assert isinstance(raised.value.__cause__, redis.ConnectionError)
    assert provider.get_stats()["errors_by_kind"] == {"connection": 1}
    provider.close()


@pytest.mark.parametrize("operation", ASYNC_CALLS)
async def test_connection_refused_is_unavailable_at_once_async(operation: str) -> None:
    provider = unreachable()
    started = time.perf_counter()
    with pytest.raises(CacheUnavailableError) as raised:
        await ASYNC_CALLS[operation](provider)
    assert time.perf_counter() - started < 1.0
    assert not isinstance(raised.value, redis.RedisError)
    assert provider.get_stats()["errors_by_kind"] == {"connection": 1}
    await provider.aclose()


def test_health_of_an_unreachable_server_reports_instead_of_raising() -> None:
    provider = unreachable()
    report = provider.health()
    assert report["healthy"] is False
    assert report["provider"] == "redis"
    assert report["server"].startswith("redis://127.0.0.1:")
    assert "refused" in report["detail"].lower()
    provider.close()


def test_exhausted_sync_pool_raises_after_the_pool_timeout(make_redis_provider: MakeRedis) -> None:
    provider = make_redis_provider(connection_pool=ConnectionPoolConfig(max_connections=1, timeout=0.3))
    provider.set("k", 1)
    # The one connection is checked out directly from the pool (a test-only look inside the
    # provider), as a long call on another thread would hold it.
    transport = provider._transport
    assert isinstance(transport, RedisTransport)  # standalone mode: a plain client over one pool
    client = transport.client
    assert isinstance(client, redis.Redis)
    pool = client.connection_pool
    held = pool.get_connection()
    try:
        started = time.perf_counter()
        with pytest.raises(CacheUnavailableError, match="pool_exhausted"):
            provider.get("k")
        assert 0.25 < time.perf_counter() - started < 1.0
    finally:
        pool.release(held)
    assert provider.get("k") == 1
    assert provider.get_stats()["errors_by_kind"] == {"pool_exhausted": 1}


async def test_exhausted_async_pool_raises_after_the_pool_timeout(make_redis_provider: MakeRedis) -> None:
    provider = make_redis_provider(connection_pool=ConnectionPoolConfig(max_connections=1, timeout=0.3))
    await provider.set_async("k", 1)
    transport = await provider._loops.current()  # test-only, as above
    assert isinstance(transport, AsyncRedisTransport)
    client = transport.client
    assert isinstance(client, redis.asyncio.Redis)
    pool = client.connection_pool
    held = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        started = time.perf_counter()
        with pytest.raises(CacheUnavailableError, match="pool_exhausted"):
            await provider.get_async("k")
        assert 0.25 < time.perf_counter() - started < 1.0
    finally:
        await pool.release(held)
    assert await provider.get_async("k") == 1


def test_refused_credentials_are_an_access_error_and_never_shown(redis_endpoint: RedisEndpoint) -> None:
    url = with_credentials(redis_endpoint.url, "no-such-user", SECRET)
    provider = RedisCacheProvider(RedisCacheConfig(enabled=True, url=url))
    with pytest.raises(CacheAccessError, match=r"\(auth\)") as raised:
        provider.get("k")
    report = provider.health()
    assert report["healthy"] is False
    shown = [str(raised.value), repr(provider), str(provider.get_stats()), str(report)]
    assert all(SECRET not in text for text in shown)
    assert "***" in provider.get_stats()["server"]
    provider.close()


def test_password_never_appears_in_repr_stats_health_or_errors() -> None:
    by_field = RedisCacheProvider(
        RedisCacheConfig(enabled=True, host="127.0.0.1", port=free_port(), password=SECRET)
    )
    by_url = RedisCacheProvider(
        RedisCacheConfig(enabled=True, url=with_credentials(unreachable_url(), "me", SECRET))
    )
    for provider in (by_field, by_url):
        with pytest.raises(CacheUnavailableError) as raised:
            provider.set("k", 1)
        shown = [repr(provider), str(provider.get_stats()), str(provider.health()), str(raised.value)]
        assert all(SECRET not in text for text in shown), shown
        provider.close()


def test_an_error_reply_is_a_cache_error_not_unavailability(
    redis_provider: RedisCacheProvider, redis_endpoint: RedisEndpoint
) -> None:
    raw = redis_endpoint.client()
    raw.lpush(f"{redis_provider.config.key_prefix}a-list", b"x")  # another program's list, under our prefix
    raw.close()
    with pytest.raises(CacheError, match="WRONGTYPE") as raised:
        redis_provider.get("a-list")
    assert not isinstance(raised.value, CacheUnavailableError)
    assert isinstance(raised.value.__cause__, redis.ResponseError)
    assert redis_provider.get_stats()["errors_by_kind"] == {"response": 1}
