"""set_many's script calls: which error replies mean "no scripts here" and which are real errors.

Only a refusal of scripting itself (EVALSHA renamed away, an ACL without ``+@scripting``) switches
the writer to pipelines of SETs. A server that is out of memory refuses the write, not the script:
the caller gets that error, and once memory is freed the batches go through the script again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from src.infrastructure.cache.config.cache_config import CacheConfig, MemoryCacheConfig, RedisCacheConfig
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import CacheError, CacheUnavailableError, ICacheProvider
from src.services.container.bindings.cache_bindings import resilient_redis_provider
from tests.conftest import unique_prefix
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis

REFUSED = "scripts refused"
FILLER = b"x" * 65536


def _config(server: RedisServer, **settings: Any) -> RedisCacheConfig:
    return RedisCacheConfig(**{"enabled": True, "url": server.url, "key_prefix": unique_prefix(), **settings})


def _calls(admin: redis.Redis, command: str) -> int:
    """How many times the server has run ``command`` (INFO commandstats)."""
    stats = admin.info("commandstats").get(f"cmdstat_{command}")
    return int(stats["calls"]) if stats else 0


@pytest.fixture
def admin(redis_process: RedisServer) -> Iterator[redis.Redis]:
    client = redis_process.client()
    yield client
    client.close()


def _fill(admin: redis.Redis) -> list[str]:
    """Write 2 MiB, then cap the server's memory 512 KiB below what it uses (noeviction): every write
    is refused until the filler is deleted. (Capping just above the usage instead is flaky: a
    refused 64 KiB SET frees its query buffer, and a small write then fits again.)"""
    filler = [f"filler:{n}" for n in range(32)]
    admin.mset(dict.fromkeys(filler, FILLER))
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", int(admin.info("memory")["used_memory"]) - 512 * 1024)
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        admin.set("probe", 1)
    return filler


def _free(admin: redis.Redis, filler: list[str]) -> None:
    admin.delete(*filler)


def test_an_out_of_memory_reply_reaches_the_caller_and_leaves_the_script_on(
    redis_process: RedisServer, admin: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    provider = RedisCacheProvider(_config(redis_process))
    try:
        provider.set_many({"before": 0})  # the script is loaded and used
        filler = _fill(admin)
        with caplog.at_level(logging.WARNING):
            with pytest.raises(CacheError, match="maxmemory") as raised:
                provider.set_many({"a": 1, "b": 2})
            assert not isinstance(raised.value, CacheUnavailableError)  # refused writes, not unreachable
            assert provider.get_many(["a", "b"]) == {}  # the script wrote nothing
            _free(admin, filler)
            evalsha = _calls(admin, "evalsha")
            provider.set_many({"a": 1, "b": 2})
            provider.set_many({"c": 3}, ttl=30)
        assert provider.get_many(["a", "b", "c"]) == {"a": 1, "b": 2, "c": 3}
        # Both batches were one script call each: none went as a pipeline of SETs.
        assert _calls(admin, "evalsha") == evalsha + 2
        assert REFUSED not in caplog.text
        assert provider.get_stats()["errors_by_kind"] == {"response": 1}
        # The reply's code, which redis-py takes off, is put back: what an operator searches for.
        assert "(response): OOM command not allowed" in str(raised.value)
    finally:
        provider.close()


def test_an_out_of_memory_reply_to_the_very_first_batch_leaves_the_script_on(
    redis_process: RedisServer, admin: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    provider = RedisCacheProvider(_config(redis_process))
    filler = _fill(admin)  # before the script was ever loaded: EVALSHA, NOSCRIPT, SCRIPT LOAD, EVALSHA
    try:
        with caplog.at_level(logging.WARNING):
            with pytest.raises(CacheError, match="maxmemory"):
                provider.set_many({"a": 1})
            _free(admin, filler)
            evalsha = _calls(admin, "evalsha")
            provider.set_many({"a": 1, "b": 2})
        assert _calls(admin, "evalsha") == evalsha + 1
        assert REFUSED not in caplog.text
    finally:
        provider.close()


def test_an_out_of_memory_reply_leaves_the_script_on_for_async_batches(
    redis_process: RedisServer, admin: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    provider = RedisCacheProvider(_config(redis_process))

    async def scenario() -> None:
        await provider.set_many_async({"before": 0})
        filler = await asyncio.to_thread(_fill, admin)
        with pytest.raises(CacheError, match="maxmemory"):
            await provider.set_many_async({"a": 1, "b": 2})
        await asyncio.to_thread(_free, admin, filler)
        evalsha = await asyncio.to_thread(_calls, admin, "evalsha")
        await provider.set_many_async({"a": 1, "b": 2})
        assert await asyncio.to_thread(_calls, admin, "evalsha") == evalsha + 1
        assert await provider.get_many_async(["a", "b"]) == {"a": 1, "b": 2}

    try:
        with caplog.at_level(logging.WARNING):
            asyncio.run(scenario())
        assert REFUSED not in caplog.text
    finally:
        provider.close()


def test_out_of_memory_is_no_outage_for_the_failure_policy(
    redis_process: RedisServer, admin: redis.Redis
) -> None:
    config = CacheConfig(
        default_provider="redis",
        providers={"redis": _config(redis_process, on_error="fallback"), "memory": MemoryCacheConfig()},
    )
    cache: ICacheProvider = resilient_redis_provider(config)
    try:
        cache.set("kept", 1)
        filler = _fill(admin)
        with pytest.raises(CacheError, match="maxmemory"):  # no fallback hides a server refusing writes
            cache.set_many({"a": 1})
        assert cache.get("kept") == 1  # reads still come from Redis: the circuit did not open
        assert cache.get_stats()["resilience"]["circuit"]["state"] == "closed"
        _free(admin, filler)
        cache.set_many({"a": 1})
        assert cache.get("a") == 1
    finally:
        cache.close()


def test_set_many_falls_back_to_a_pipeline_where_evalsha_is_renamed_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    renamed = ("--rename-command", "EVALSHA", "", "--rename-command", "EVAL", "")
    with RedisServer(args=renamed) as server:
        provider = RedisCacheProvider(_config(server))
        try:
            with caplog.at_level(logging.WARNING):
                provider.set_many({"a": 1, "b": 2})
                provider.set_many({"c": 3})
            assert provider.get_many(["a", "b", "c"]) == {"a": 1, "b": 2, "c": 3}
        finally:
            provider.close()
    assert caplog.text.count(REFUSED) == 1
    assert "unknown command 'EVALSHA'" in caplog.text
