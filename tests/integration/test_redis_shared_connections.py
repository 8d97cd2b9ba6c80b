"""Caches with the same connection settings share one sync pool and one async pool per event loop.

Two caches with different prefixes on one server, each given a share of a ``ConnectionRegistry``'s
connections: the server's ``CLIENT LIST`` shows one set of connections between them (what one pool
opens), both caches' stats show that same pool, and closing one leaves the other working on the
very same connections; the last close closes them. Async calls of both caches on one loop share
that loop's coalescer: one MGET may carry both caches' keys, and each caller still gets its own
reply and counts in its own cache's stats.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from src.infrastructure.cache.config.cache_config import ConnectionPoolConfig, RedisCacheConfig
from src.infrastructure.cache.providers.redis.batch_writes import SET_ENTRIES
from src.infrastructure.cache.providers.redis.connections import ConnectionRegistry
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from tests.conftest import unique_prefix
from tests.integration._redis_helpers import monitored
from tests.redis_servers import RedisEndpoint, RedisServer
from tests.topology.cluster import RedisClusterTopology

pytestmark = pytest.mark.redis

POOL = ConnectionPoolConfig(max_connections=3, timeout=5.0)
SECRET = "pa55-never-shown"


def settings(url: str, **overrides: Any) -> RedisCacheConfig:
    """A cache's config: a fresh prefix, and ``overrides``."""
    values: dict[str, Any] = {
        "enabled": True,
        "url": url,
        "key_prefix": unique_prefix(),
        "default_ttl": 60,
        "connection_pool": POOL,
        **overrides,
    }
    return RedisCacheConfig(**values)


@contextmanager
def shared_pair(
    registry: ConnectionRegistry, url: str
) -> Iterator[tuple[RedisCacheProvider, RedisCacheProvider]]:
    """Two caches on ``url`` under different prefixes (and TTLs), sharing the registry's connections."""
    first, second = settings(url), settings(url, default_ttl=5)
    a = RedisCacheProvider(first, connections=registry.acquire(first))
    b = RedisCacheProvider(second, connections=registry.acquire(second))
    try:
        yield a, b
    finally:
        for cache in (a, b):
            cache.clear()
            cache.close()


def client_ids(admin: redis.Redis) -> set[int]:
    """The ids of every connection to the server but ``admin``'s own: the caches' connections."""
    own = admin.client_id()
    return {int(client["id"]) for client in admin.client_list() if int(client["id"]) != own}


def wait_for_no_connections(admin: redis.Redis, seconds: float = 2.0) -> None:
    """Wait until the server has dropped every cache connection (a close is seen asynchronously)."""
    deadline = time.monotonic() + seconds
    while client_ids(admin) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert client_ids(admin) == set()


@pytest.fixture
def registry() -> ConnectionRegistry:
    return ConnectionRegistry()


@pytest.fixture
def admin(redis_process: RedisServer) -> Iterator[redis.Redis]:
    """A raw client of this test's own server, to read its CLIENT LIST."""
    client = redis_process.client()
    yield client
    client.close()


# ---------------------------------------------------------------- sync


def test_two_caches_share_one_connection_and_report_the_same_pool(
    registry: ConnectionRegistry, redis_process: RedisServer, admin: redis.Redis
) -> None:
    with shared_pair(registry, redis_process.url) as (a, b):
        a.set("k", "from a")
        b.set("k", "from b")
        assert (a.get("k"), b.get("k")) == ("from a", "from b")  # the namespaces stay apart
        assert len(client_ids(admin)) == 1  # one pool, one idle connection, used by both in turn
        pool = {"max_connections": 3, "in_use": 0, "idle": 1}
        assert a.get_stats()["pool"] == b.get_stats()["pool"] == pool
        assert a.get_stats()["connections_shared_by"] == b.get_stats()["connections_shared_by"] == 2
        assert len(registry) == 1


def test_caches_without_a_registry_keep_a_pool_each(redis_process: RedisServer, admin: redis.Redis) -> None:
    """The control of the test above: what sharing saves."""
    a, b = (RedisCacheProvider(settings(redis_process.url)) for _ in range(2))
    try:
        a.set("k", 1)
        b.set("k", 2)
        assert len(client_ids(admin)) == 2
        assert a.get_stats()["connections_shared_by"] == 1
    finally:
        a.close()
        b.close()


def test_concurrent_traffic_of_both_caches_opens_what_one_pool_opens(
    registry: ConnectionRegistry, redis_process: RedisServer, admin: redis.Redis
) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work(cache: RedisCacheProvider, worker: int) -> None:
        try:
            start.wait()
            for i in range(200):
                cache.set(f"w{worker}:{i % 10}", i)
                cache.get(f"w{worker}:{i % 10}")
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    with shared_pair(registry, redis_process.url) as (a, b):
        threads = [threading.Thread(target=work, args=((a, b)[n % 2], n)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        opened = client_ids(admin)
        stats = a.get_stats()["pool"]
        assert stats == b.get_stats()["pool"]
        assert stats["in_use"] == 0
        # Six threads of two caches, yet at most one pool's worth of connections: all of them the pool's.
        assert len(opened) == stats["idle"] <= POOL.max_connections
        assert a.get_size() == b.get_size() == 30


def test_closing_one_cache_leaves_the_other_on_the_same_connections(
    registry: ConnectionRegistry, redis_process: RedisServer, admin: redis.Redis
) -> None:
    first, second = settings(redis_process.url), settings(redis_process.url)
    a = RedisCacheProvider(first, connections=registry.acquire(first))
    b = RedisCacheProvider(second, connections=registry.acquire(second))
    a.set("k", "a")
    b.set("k", "b")
    before = client_ids(admin)
    a.close()
    a.close()  # a share is given up once: a second close takes nothing from b
    assert client_ids(admin) == before  # not closed, not reconnected: the same connection
    assert b.get("k") == "b"
    assert client_ids(admin) == before
    assert b.get_stats()["connections_shared_by"] == 1
    b.clear()
    b.close()  # the last share: now the connections close
    wait_for_no_connections(admin)
    assert a.get("k") == "a"  # a closed cache stays usable: it reconnects
    a.clear()
    a.close()  # and a later close, with no share held, closes again
    wait_for_no_connections(admin)


# ---------------------------------------------------------------- async


def test_async_calls_of_both_caches_share_one_pool_per_loop(
    registry: ConnectionRegistry, redis_process: RedisServer, admin: redis.Redis
) -> None:
    with shared_pair(registry, redis_process.url) as (a, b):

        async def scenario() -> None:
            await asyncio.gather(*(cache.set_async(f"k{i}", i) for i in range(20) for cache in (a, b)))
            values = await asyncio.gather(*(cache.get_async(f"k{i}") for i in range(20) for cache in (a, b)))
            assert values == [i for i in range(20) for _ in (a, b)]
            assert len(await asyncio.to_thread(client_ids, admin)) == 1  # one async pool, one connection
            async_pools = {"event_loops": 1, "in_use": 0, "idle": 1}
            assert a.get_stats()["async_pools"] == b.get_stats()["async_pools"] == async_pools
            before = await asyncio.to_thread(client_ids, admin)
            await a.aclose()  # b still holds the connections: nothing is closed
            assert await b.get_async("k1") == 1
            assert await asyncio.to_thread(client_ids, admin) == before
            await b.clear_async()
            await a.clear_async()
            await b.aclose()  # the last share: this loop's connections close now
            await asyncio.to_thread(wait_for_no_connections, admin)

        asyncio.run(scenario())
        assert a.get_stats()["pool"] == {"max_connections": 3, "in_use": 0, "idle": 0}  # no sync call yet


def test_one_batch_carries_both_caches_keys_and_each_caller_gets_its_own_reply(
    registry: ConnectionRegistry, redis_endpoint: RedisEndpoint
) -> None:
    with shared_pair(registry, redis_endpoint.url) as (a, b):
        a.set_many({f"k{i}": f"a{i}" for i in range(10)})
        b.set_many({f"k{i}": f"b{i}" for i in range(5)})
        raw = redis_endpoint.client()
        raw.script_load(SET_ENTRIES)

        async def reads() -> list[object]:
            return list(
                await asyncio.gather(
                    *(a.get_async(f"k{i}", "miss") for i in range(10)),
                    *(b.get_async(f"k{i}", "miss") for i in range(10)),
                )
            )

        async def writes() -> None:
            await asyncio.gather(a.set_async("x", "a", ttl=30), b.set_async("x", "b"))

        try:
            with monitored(redis_endpoint) as commands:
                values = asyncio.run(reads())
                asyncio.run(writes())
            prefixes = (a.config.key_prefix, b.config.key_prefix)
            ours = [command for command in commands if any(prefix in command for prefix in prefixes)]
            assert [command.split()[0] for command in ours] == ["MGET", "EVALSHA", "SET", "SET"]
            assert all(prefix in ours[0] for prefix in prefixes)  # one MGET for both caches
            assert all(prefix in ours[1] for prefix in prefixes)  # one script call for both
            assert 29_000 < raw.pttl(f"{a.config.key_prefix}x") <= 30_000
            assert 4_000 < raw.pttl(f"{b.config.key_prefix}x") <= 5_000  # b's own default TTL
        finally:
            raw.close()
        assert values == [*(f"a{i}" for i in range(10)), *(f"b{i}" for i in range(5)), *["miss"] * 5]
        assert (a.get("x"), b.get("x")) == ("a", "b")
        a_stats, b_stats = a.get_stats(), b.get_stats()
        assert (a_stats["hits"], a_stats["misses"], a_stats["sets"]) == (11, 0, 11)
        assert (b_stats["hits"], b_stats["misses"], b_stats["sets"]) == (6, 5, 6)


# ---------------------------------------------------------------- what is shared


def test_only_the_connection_settings_decide_what_is_shared(registry: ConnectionRegistry) -> None:
    url = "redis://127.0.0.1:6399/0"  # never dialled: acquiring builds pools, it does not connect
    base = registry.acquire(settings(url)).connections
    same = [
        settings(url, default_ttl=5, max_value_bytes=1024, on_error="raise"),
        settings(url, owns_database=True),
    ]
    other = [
        settings("redis://127.0.0.1:6399/1"),
        settings(url, socket_timeout=0.5),
        settings(url, connection_pool=ConnectionPoolConfig(max_connections=4)),
        settings("redis://someone:" + SECRET + "@127.0.0.1:6399/0"),
    ]
    assert all(registry.acquire(config).connections is base for config in same)
    assert all(registry.acquire(config).connections is not base for config in other)
    assert len(registry) == 1 + len(other)
    assert base.holders == 1 + len(same)
    assert SECRET not in repr(registry) + repr(base)


def test_a_share_of_other_connection_settings_is_refused(registry: ConnectionRegistry) -> None:
    share = registry.acquire(settings("redis://127.0.0.1:6399/0"))
    with pytest.raises(ValueError, match=r"connections: .*ConnectionRegistry\.acquire\(config\)") as raised:
        RedisCacheProvider(settings(f"redis://u:{SECRET}@127.0.0.1:6399/0"), connections=share)
    assert SECRET not in str(raised.value)


def test_concurrent_acquires_share_one_set_of_connections(registry: ConnectionRegistry) -> None:
    config = settings("redis://127.0.0.1:6399/0")
    shares: list[Any] = []
    start = threading.Barrier(8)

    def acquire() -> None:
        start.wait()
        shares.extend(registry.acquire(config) for _ in range(50))

    threads = [threading.Thread(target=acquire) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(share.connections) for share in shares}) == 1
    assert shares[0].connections.holders == 400
    for share in shares:
        share.close()
    assert shares[0].connections.holders == 0


# ---------------------------------------------------------------- a cluster


def test_caches_on_one_cluster_share_its_node_pools(
    registry: ConnectionRegistry, redis_cluster: RedisClusterTopology
) -> None:
    def cluster() -> RedisCacheConfig:
        return RedisCacheConfig(
            enabled=True,
            mode="cluster",
            startup_nodes=redis_cluster.startup_nodes,
            key_prefix=unique_prefix(),
        )

    first, second = cluster(), cluster()
    a = RedisCacheProvider(first, connections=registry.acquire(first))
    b = RedisCacheProvider(second, connections=registry.acquire(second))
    items = {f"k{i}": i for i in range(50)}
    try:
        a.set_many(items)
        b.set_many({key: -value for key, value in items.items()})
        assert a.get_many(items) == items
        assert b.get_many(items) == {key: -value for key, value in items.items()}
        assert a.get_stats()["pool"] == b.get_stats()["pool"]
        assert a.get_stats()["pool"]["idle"] >= 3  # a connection to each primary, for both caches
        a.close()
        assert b.get_many(items) == {key: -value for key, value in items.items()}
        assert b.get_stats()["connections_shared_by"] == 1
    finally:
        for cache in (a, b):
            cache.clear()
            cache.close()
