"""Sentinel mode on a real master, replica and 3 sentinels: the master is found, credentials kept apart.

The contract suite already runs against this setup (``redis_sentinel`` in ``CONTRACT_PROVIDERS``);
failover is in ``test_topology_failover.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from src.infrastructure.cache.config.cache_config import ConnectionPoolConfig
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.infrastructure.cache.providers.redis.server_transport import SentinelTransport
from src.interfaces.llm.cache import CacheAccessError, CacheUnavailableError
from tests.topology.sentinel import DATA_PASSWORD, SENTINEL_PASSWORD, RedisSentinelTopology

pytestmark = pytest.mark.redis

MakeSentinel = Callable[..., RedisCacheProvider]


def test_reads_and_writes_go_to_the_master_the_sentinels_name(
    make_redis_sentinel_provider: MakeSentinel, redis_sentinel: RedisSentinelTopology
) -> None:
    cache = make_redis_sentinel_provider()
    cache.set("k", {"v": 1})
    name = cache.get_stats()["key_prefix"] + "k"
    master = redis_sentinel.current_master()
    with redis_sentinel.data_client(master) as client:
        assert client.exists(name) == 1
        assert client.info("replication")["role"] == "master"
    assert cache.get("k") == {"v": 1}


async def test_async_calls_find_the_master_too(make_redis_sentinel_provider: MakeSentinel) -> None:
    cache = make_redis_sentinel_provider()
    await cache.set_many_async({"a": 1, "b": 2})
    assert await cache.get_many_async(["a", "b", "c"]) == {"a": 1, "b": 2}
    assert cache.get("a") == 1


def test_sentinel_and_data_credentials_are_separate(make_redis_sentinel_provider: MakeSentinel) -> None:
    cache = make_redis_sentinel_provider()  # right passwords
    cache.set("k", 1)
    # Built here, not by the fixture, whose teardown would clear() them.
    wrong_data = RedisCacheProvider(replace(cache.config, password=SENTINEL_PASSWORD))
    with pytest.raises(CacheAccessError) as refused:  # the master refuses us: never a fallback case
        wrong_data.get("k")
    wrong_sentinel = RedisCacheProvider(replace(cache.config, sentinel_password=DATA_PASSWORD))
    # redis-py asks each sentinel in turn and folds their refusals into "no master found"
    # (a ConnectionError): unavailable, with the sentinels' reasons in the message.
    with pytest.raises(CacheUnavailableError, match="No master found") as unfound:
        wrong_sentinel.get("k")
    for error in (refused.value, unfound.value):
        assert DATA_PASSWORD not in str(error)
        assert SENTINEL_PASSWORD not in str(error)
    assert SENTINEL_PASSWORD not in repr(wrong_sentinel.config)
    wrong_data.close()
    wrong_sentinel.close()


def test_a_full_pool_waits_for_the_pool_timeout_as_in_standalone_mode(
    make_redis_sentinel_provider: MakeSentinel,
) -> None:
    cache = make_redis_sentinel_provider(connection_pool=ConnectionPoolConfig(max_connections=1, timeout=0.2))
    cache.set("k", 1)
    transport = cache._transport  # test-only look inside
    assert isinstance(transport, SentinelTransport)
    pool = transport.client.connection_pool
    held = pool.get_connection()
    try:
        started = time.perf_counter()
        with pytest.raises(CacheUnavailableError, match="pool_exhausted"):
            cache.get("k")
        assert 0.15 < time.perf_counter() - started < 1.0  # it waited, as a blocking pool does
    finally:
        pool.release(held)
    assert cache.get("k") == 1


def test_stats_and_health_show_the_master_and_its_replica(
    make_redis_sentinel_provider: MakeSentinel, redis_sentinel: RedisSentinelTopology
) -> None:
    cache = make_redis_sentinel_provider()
    master = redis_sentinel.current_master()
    primary = f"{master.host}:{master.port}"
    for report in (cache.get_stats(), cache.health()):
        topology = report["topology"]
        assert topology["mode"] == "sentinel"
        assert topology["sentinels"] == list(redis_sentinel.sentinel_addresses)
        assert topology["nodes"][primary] == "primary"
        replicas = [node for node in redis_sentinel.data_nodes if node is not master]
        for replica in replicas:
            assert topology["nodes"][f"{replica.host}:{replica.port}"] == f"replica of {primary}"
    assert cache.health()["healthy"] is True
