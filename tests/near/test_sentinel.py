"""A near cache in Sentinel mode: tracking follows the master across a failover.

The invalidation connection asks the sentinels for the master each time it connects. A failover
(here ``SENTINEL FAILOVER``: a replica is promoted; the old master, still up, is demoted at the
sentinels' next check) is noticed at the next PING, which first asks the sentinels who is master:
the near cache is emptied, reads go to Redis until tracking is back on the new master.
"""

from __future__ import annotations

from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import NearCacheConfig, RedisCacheConfig
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from tests.conftest import unique_prefix, wait_until_near_serves
from tests.faults.conftest import wrapped
from tests.near.conftest import PING_INTERVAL, near, wait_for
from tests.redis_servers import RedisServer
from tests.topology.sentinel import (
    DATA_PASSWORD,
    SENTINEL_PASSWORD,
    SERVICE_NAME,
    RedisSentinelTopology,
)

pytestmark = pytest.mark.redis

#: A graceful failover with the topology's short timeouts takes a few seconds.
FAILOVER_WITHIN = 20.0


def _settings(sentinel: RedisSentinelTopology, prefix: str) -> dict[str, Any]:
    return {
        "enabled": True,
        "mode": "sentinel",
        "sentinels": sentinel.sentinel_addresses,
        "service_name": SERVICE_NAME,
        "password": DATA_PASSWORD,
        "sentinel_password": SENTINEL_PASSWORD,
        "key_prefix": prefix,
        "socket_timeout": 0.5,
        "socket_connect_timeout": 0.5,
    }


def test_tracking_follows_the_master_across_a_failover(redis_sentinel: RedisSentinelTopology) -> None:
    prefix = unique_prefix()
    near_cache = NearCacheConfig(enabled=True, ping_interval=PING_INTERVAL)
    cache = wrapped(RedisCacheConfig(**_settings(redis_sentinel, prefix), near_cache=near_cache))
    writer = RedisCacheProvider(RedisCacheConfig(**_settings(redis_sentinel, prefix)))
    old_master = redis_sentinel.current_master()
    try:
        wait_until_near_serves(cache)
        invalidations = near(cache)["invalidations"]
        writer.set("k", "old")
        wait_for(lambda: near(cache)["invalidations"] > invalidations, 2.0, "the write's invalidation")
        assert cache.get("k") == cache.get("k") == "old"
        flushes = near(cache)["flushes"]

        with redis_sentinel.sentinel_client(redis_sentinel.sentinels[0]) as client:
            client.execute_command("SENTINEL", "FAILOVER", SERVICE_NAME)
        wait_for(lambda: redis_sentinel.current_master() is not old_master, FAILOVER_WITHIN, "a new master")
        wait_for(lambda: near(cache)["flushes"] > flushes, FAILOVER_WITHIN, "flush after the failover")
        # The old master serves the connections it has (the data pools') until the sentinels
        # reconfigure it at their next check, ~10 s later; do now what they will do then.
        _demote(redis_sentinel, old_master)
        writer.set("k", "new")

        wait_for(lambda: near(cache)["serving"] and cache.get("k") == "new", FAILOVER_WITHIN, "new, served")
        assert cache.get("k") == "new"  # from the near cache, over tracking on the new master
        invalidations = near(cache)["invalidations"]
        writer.set("k", "newer")
        wait_for(lambda: near(cache)["invalidations"] > invalidations, 2.0, "tracked on the new master")
        assert cache.get("k") == "newer"
    finally:
        cache.clear()
        cache.close()
        writer.close()
        _demote(redis_sentinel, old_master)
        redis_sentinel.wait_until_ready()


def _demote(sentinel: RedisSentinelTopology, old_master: RedisServer) -> None:
    """Reconfigure a demoted master as the sentinels do (a replica of the new master, its clients
    disconnected); nothing if it is the master again."""
    new_master = sentinel.current_master()
    if new_master is old_master:
        return
    with sentinel.data_client(old_master) as client:
        client.replicaof(new_master.host, new_master.port)
        client.execute_command("CLIENT", "KILL", "TYPE", "normal")
        client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
