"""While Redis is down, the fallback keeps the Redis cache's promises (issue 9, defect 3).

Callers must not notice which one answered: the Redis cache's ``default_ttl`` applies to a ``set``
without TTL, its ``max_value_bytes`` decides what is taken or refused, and values are copies even
when the memory cache's own settings store references. Only ``max_size`` comes from the memory
cache's settings.
"""

from __future__ import annotations

import time

import pytest

from src.infrastructure.cache.config.cache_config import CacheConfig, MemoryCacheConfig
from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from src.interfaces.llm.cache import CacheSerializationError
from src.services.container.bindings.cache_bindings import resilient_redis_provider
from tests.faults.conftest import fast_failing, wait_for_state
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis

MIB = 1024 * 1024


def _during_outage(server: RedisServer, memory: MemoryCacheConfig, **redis: object) -> ResilientCacheProvider:
    """The provider as the container builds it, with its server killed and its circuit open."""
    provider = resilient_redis_provider(
        CacheConfig(
            default_provider="redis", providers={"redis": fast_failing(server.url, **redis), "memory": memory}
        )
    )
    assert isinstance(provider, ResilientCacheProvider)
    provider.set("warm", 1)
    server.kill()
    provider.set("opens-the-circuit", 1)  # a failed write opens the circuit at once
    wait_for_state(provider, "open", timeout=1)
    return provider


def test_the_fallback_applies_the_redis_default_ttl(redis_process: RedisServer) -> None:
    provider = _during_outage(redis_process, MemoryCacheConfig(default_ttl=3600), default_ttl=1)
    try:
        provider.set("k", "v")  # no TTL: the Redis cache's default_ttl, 1 s
        assert provider.get("k") == "v"
        time.sleep(1.3)
        assert provider.get("k", "expired") == "expired"
    finally:
        provider.close()


def test_the_fallback_takes_and_refuses_what_redis_would(redis_process: RedisServer) -> None:
    provider = _during_outage(redis_process, MemoryCacheConfig(max_value_bytes=MIB), max_value_bytes=4 * MIB)
    try:
        provider.set("two-mib", b"x" * (2 * MIB))  # over memory's own 1 MiB, under Redis's 4 MiB
        assert provider.get("two-mib") == b"x" * (2 * MIB)
        with pytest.raises(CacheSerializationError, match="max_value_bytes=4194304"):
            provider.set("five-mib", b"x" * (5 * MIB))
        assert provider.exists("five-mib") is False
    finally:
        provider.close()


def test_the_fallback_stores_copies_even_if_memory_stores_references(redis_process: RedisServer) -> None:
    provider = _during_outage(redis_process, MemoryCacheConfig(serialize_values=False))
    try:
        value = {"plan": ["search"]}
        provider.set("k", value)
        value["plan"].append("mutated after set")
        read = provider.get("k")
        assert read == {"plan": ["search"]}
        read["plan"].append("mutated after get")
        assert provider.get("k") == {"plan": ["search"]}
        with pytest.raises(CacheSerializationError):
            provider.set("object", object())  # refused as Redis would, not stored by reference
    finally:
        provider.close()


def test_the_fallback_size_comes_from_the_memory_settings(redis_process: RedisServer) -> None:
    provider = _during_outage(redis_process, MemoryCacheConfig(max_size=3))
    try:
        provider.set_many({f"k{i}": i for i in range(5)})
        assert provider.get_stats()["fallback"]["max_size"] == 3
        assert len(provider.get_many([f"k{i}" for i in range(5)])) == 3
    finally:
        provider.close()
