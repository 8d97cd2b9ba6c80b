"""The backend goes away while the model answers: the paid answer still reaches its caller.

Each test starts its own ``redis-server`` (``redis_process``) and kills it from inside the model
call, so the read before the call works and the write after it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.config.llm_config import LLMCacheConfig
from src.infrastructure.cache.llm.response_cache import LLMResponseCache
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import CacheUnavailableError
from tests.llm.builders import chat_request, chunks_for, response_for
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
def cache(redis_process: RedisServer) -> Iterator[LLMResponseCache]:
    config = RedisCacheConfig(
        enabled=True, url=redis_process.url, key_prefix="llm-faults:", socket_timeout=0.2, retries=0
    )
    provider = RedisCacheProvider(config)
    yield LLMResponseCache(provider, LLMCacheConfig())
    provider.close()


def test_an_answer_whose_store_fails_is_returned_and_counted(
    cache: LLMResponseCache, redis_process: RedisServer
) -> None:
    def model() -> dict[str, Any]:
        redis_process.kill()
        return response_for("paid for")

    assert cache.complete(chat_request(), model) == response_for("paid for")
    stats = cache.get_stats()
    assert (stats["store_errors"], stats["misses"], stats["errors"]) == (1, 1, 0)
    with pytest.raises(CacheUnavailableError):  # a raw provider: the next read reports the outage
        cache.complete(chat_request(), model)


def test_a_stream_whose_store_fails_is_delivered_whole_and_counted(
    cache: LLMResponseCache, redis_process: RedisServer
) -> None:
    def model() -> Iterator[dict[str, Any]]:
        yield from chunks_for("paid for")
        redis_process.kill()

    assert list(cache.stream(chat_request(), model)) == chunks_for("paid for")
    assert (cache.get_stats()["store_errors"], cache.get_stats()["misses"]) == (1, 1)


async def test_an_async_answer_whose_store_fails_is_returned(
    cache: LLMResponseCache, redis_process: RedisServer
) -> None:
    async def model() -> dict[str, Any]:
        redis_process.kill()
        return response_for("paid for")

    assert await cache.complete_async(chat_request(), model) == response_for("paid for")
    assert cache.get_stats()["store_errors"] == 1
