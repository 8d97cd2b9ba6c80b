"""Cluster mode on a real 3-primary, 3-replica Redis Cluster: batches by slot, sweeps, hash tag, topology.

The contract suite already runs against this cluster (``redis_cluster`` in ``CONTRACT_PROVIDERS``);
these tests prove what only a cluster can show: where commands land and how many round trips a
batch costs, counted on each primary (``RoundTrips``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import redis.cluster

from src.infrastructure.cache.config.cache_config import ConnectionPoolConfig, RedisCacheConfig
from src.infrastructure.cache.providers.redis.cluster_client import ClusterTransport
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import CacheError, CacheUnavailableError
from tests.redis_servers import RedisEndpoint, free_port
from tests.topology.cluster import RedisClusterTopology, RoundTrips, node_client

pytestmark = pytest.mark.redis

MakeCluster = Callable[..., RedisCacheProvider]
ITEMS = {f"item-{i}": {"i": i} for i in range(100)}


def keys_per_primary(cluster: RedisClusterTopology, prefix: str) -> dict[int, int]:
    """How many keys under ``prefix`` each primary holds, asked of each node directly."""
    counts = {}
    for server in cluster.primaries():
        with node_client(server) as client:
            counts[server.port] = sum(1 for _ in client.scan_iter(match=f"{prefix}*", count=500))
    return counts


def test_a_batch_of_100_keys_costs_one_round_trip_per_primary(
    make_redis_cluster_provider: MakeCluster, redis_cluster: RedisClusterTopology
) -> None:
    cache = make_redis_cluster_provider()
    cache.set_many(ITEMS)  # opens a connection to every primary: the handshakes are not counted below
    cache.get_many(ITEMS)

    measured = {}
    for name, batch in (
        ("set_many", lambda: cache.set_many(ITEMS)),
        ("get_many", lambda: cache.get_many(ITEMS)),
        ("delete_many", lambda: cache.delete_many(ITEMS)),
    ):
        with RoundTrips(redis_cluster) as trips:
            batch()
        measured[name] = trips
        print(
            f"{name} of 100 keys: read events per primary {sorted(trips.reads.values())}, "
            f"commands {[sorted(calls.items()) for calls in trips.commands.values()]}"
        )

    assert all(len(calls) == 1 for trips in measured.values() for calls in trips.commands.values())
    for trips in measured.values():
        assert sum(trips.reads.values()) <= 2 * len(trips.reads)  # one each, plus maybe a REPLCONF ACK
    # One command per hash slot (100 keys fall in ~100 slots), spread over the three primaries.
    assert measured["set_many"].total("set") == 100
    assert 90 <= measured["get_many"].total("mget") <= 100
    assert 90 <= measured["delete_many"].total("unlink") <= 100
    assert cache.get_size() == 0


async def test_async_batches_are_grouped_by_slot_too(
    make_redis_cluster_provider: MakeCluster, redis_cluster: RedisClusterTopology
) -> None:
    cache = make_redis_cluster_provider()
    await cache.set_many_async(ITEMS)
    assert await cache.get_many_async([*ITEMS, "absent"]) == ITEMS
    with RoundTrips(redis_cluster) as trips:
        assert await cache.get_many_async(ITEMS) == ITEMS
    assert sum(trips.reads.values()) <= 2 * len(trips.reads)
    assert await cache.delete_many_async(ITEMS) == 100
    assert await cache.get_size_async() == 0


def test_clear_and_get_size_sweep_every_primary_and_only_the_prefix(
    make_redis_cluster_provider: MakeCluster, redis_cluster: RedisClusterTopology
) -> None:
    mine, theirs = make_redis_cluster_provider(), make_redis_cluster_provider()
    mine.set_many(ITEMS)
    theirs.set_many({"a": 1, "b": 2})
    spread = keys_per_primary(redis_cluster, mine.get_stats()["key_prefix"])
    assert all(count > 10 for count in spread.values()), spread  # every primary holds some
    assert mine.get_size() == 100
    assert mine.clear() == 100
    assert mine.get_size() == 0
    assert theirs.get_size() == 2
    assert theirs.get_many(["a", "b"]) == {"a": 1, "b": 2}


async def test_async_clear_sweeps_every_primary(make_redis_cluster_provider: MakeCluster) -> None:
    cache = make_redis_cluster_provider()
    await cache.set_many_async(ITEMS)
    assert await cache.get_size_async() == 100
    assert await cache.clear_async() == 100
    assert await cache.get_size_async() == 0


def test_hash_tag_puts_the_namespace_in_one_slot(
    make_redis_cluster_provider: MakeCluster, redis_cluster: RedisClusterTopology
) -> None:
    cache = make_redis_cluster_provider(hash_tag=True)
    prefix = cache.get_stats()["key_prefix"]
    assert prefix == "{" + cache.config.key_prefix.removesuffix(":") + "}:"
    cache.set_many(ITEMS)
    spread = keys_per_primary(redis_cluster, prefix)
    assert sorted(spread.values()) == [0, 0, 100]
    with RoundTrips(redis_cluster) as trips:
        assert cache.get_many(ITEMS) == ITEMS
    assert trips.total("mget") == 1  # one slot: one MGET, one node, one round trip
    # One slot is what makes multi-key atomicity possible for the user: a MULTI/EXEC over the
    # namespace's keys is accepted by the cluster (it would be refused with CROSSSLOT otherwise).
    raw = redis.cluster.RedisCluster(host=redis_cluster.servers[0].host, port=redis_cluster.servers[0].port)
    try:
        with raw.pipeline(transaction=True) as pipe:  # type: ignore[no-untyped-call]
            pipe.get(f"{prefix}item-1")
            pipe.get(f"{prefix}item-2")
            assert len(pipe.execute()) == 2
    finally:
        raw.close()
    assert cache.clear() == 100


def test_stats_and_health_show_the_nodes_and_which_are_primaries(
    make_redis_cluster_provider: MakeCluster, redis_cluster: RedisClusterTopology
) -> None:
    cache = make_redis_cluster_provider()
    cache.set("k", 1)
    expected = {f"{server.host}:{server.port}" for server in redis_cluster.servers}
    for report in (cache.get_stats(), cache.health()):
        topology = report["topology"]
        assert topology["mode"] == "cluster"
        assert topology["cluster_state"] == "ok"
        assert set(topology["nodes"]) == expected
        roles = list(topology["nodes"].values())
        assert roles.count("primary") == 3
        assert sum(role.startswith("replica of ") for role in roles) == 3
    assert cache.health()["healthy"] is True
    assert cache.get_stats()["mode"] == "cluster"
    assert cache.get_stats()["pool"]["idle"] >= 1


def test_a_caller_waits_for_a_free_slot_up_to_the_pool_timeout(
    make_redis_cluster_provider: MakeCluster,
) -> None:
    cache = make_redis_cluster_provider(connection_pool=ConnectionPoolConfig(max_connections=1, timeout=0.2))
    cache.set("k", 1)
    client = cache._transport  # test-only look inside: hold the one call slot, as a long call would
    assert isinstance(client, ClusterTransport)
    with client._call():
        started = time.perf_counter()
        with pytest.raises(CacheUnavailableError, match="pool_exhausted"):
            cache.get("k")
        assert 0.15 < time.perf_counter() - started < 1.0
    assert cache.get("k") == 1


def test_a_url_naming_one_node_discovers_the_whole_cluster(redis_cluster: RedisClusterTopology) -> None:
    node = redis_cluster.servers[-1]
    cache = RedisCacheProvider(
        RedisCacheConfig(enabled=True, mode="cluster", url=node.url, key_prefix="test:url-node:")
    )
    try:
        cache.set_many(ITEMS)
        assert cache.get_many(ITEMS) == ITEMS
        assert len(cache.get_stats()["topology"]["nodes"]) == 6
        assert cache.clear() == 100
    finally:
        cache.close()


def test_a_server_not_in_cluster_mode_is_a_misconfiguration_not_an_outage(
    redis_endpoint: RedisEndpoint,
) -> None:
    cache = RedisCacheProvider(redis_endpoint.config(mode="cluster", key_prefix="test:not-a-cluster:"))
    calls: list[Callable[[], object]] = [lambda: cache.get("k"), lambda: asyncio.run(cache.get_async("k"))]
    for call in calls:
        with pytest.raises(CacheError, match="not in cluster mode") as raised:
            call()
        assert not isinstance(raised.value, CacheUnavailableError)  # so no fallback hides it
    cache.close()


def test_an_unreachable_cluster_can_be_built_and_fails_as_unavailable() -> None:
    config = RedisCacheConfig(
        enabled=True, mode="cluster", startup_nodes=(f"127.0.0.1:{free_port()}",), socket_connect_timeout=0.2
    )
    cache = RedisCacheProvider(config)  # dials nothing: the sync cluster client is built on first use
    started = time.perf_counter()
    with pytest.raises(CacheUnavailableError):
        cache.get("k")
    with pytest.raises(CacheUnavailableError):
        asyncio.run(cache.get_many_async(["a", "b"]))
    with pytest.raises(CacheUnavailableError):
        cache.clear()
    assert time.perf_counter() - started < 3
    health = cache.health()
    assert health["healthy"] is False
    assert "unavailable" in cache.get_stats()["topology"]["error"]
    cache.close()
