"""RedisServer, the fault-injection harness, and the provider's bounded failures under its faults."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import CacheUnavailableError
from tests.redis_servers import NO_RETRY, RedisServer

pytestmark = pytest.mark.redis


def test_server_can_be_paused_killed_and_restarted_on_its_port(redis_process: RedisServer) -> None:
    port = redis_process.port
    assert redis_process.ping()
    redis_process.pause()
    assert not redis_process.ping()
    redis_process.resume()
    assert redis_process.ping()
    redis_process.kill()
    assert not redis_process.is_running()
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, retry=NO_RETRY, socket_connect_timeout=0.5).ping()
    redis_process.restart()
    assert redis_process.port == port
    assert redis_process.ping()


@pytest.mark.parametrize(("retries", "sync_bound", "async_bound"), [(0, 0.5, 0.5), (1, 0.7, 1.2)])
def test_a_hung_server_is_unavailable_within_the_timeouts(
    redis_process: RedisServer, retries: int, sync_bound: float, async_bound: float
) -> None:
    config = RedisCacheConfig(
        enabled=True, url=redis_process.url, socket_timeout=0.2, socket_connect_timeout=0.2, retries=retries
    )
    provider = RedisCacheProvider(config)
    provider.set("k", 1)
    redis_process.pause()
    try:
        started = time.perf_counter()
        with pytest.raises(CacheUnavailableError, match=r"\(timeout\)"):
            provider.get("k")
        assert time.perf_counter() - started < sync_bound
        started = time.perf_counter()
        with pytest.raises(CacheUnavailableError, match=r"\(timeout\)"):
            asyncio.run(provider.get_async("k"))
        # redis.asyncio retries the connect-and-handshake inside each retried command, so an async
        # call may wait (retries + 1)² socket timeouts: bounded, but longer than a sync one.
        assert time.perf_counter() - started < async_bound
        assert provider.health()["healthy"] is False
    finally:
        redis_process.resume()
    assert provider.get("k") == 1
    provider.close()
