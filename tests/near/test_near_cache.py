"""The near cache through the contract's eyes: own writes, namespaces, compute-once, copies, TTLs,
batches, stats and metrics, its lifetime; and how it is configured and built."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from src.infrastructure.cache.config.cache_config import CacheConfig
from src.infrastructure.cache.near.near_provider import NearCacheProvider
from src.infrastructure.cache.providers.redis.tracking import CLIENT_NAME
from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from src.interfaces.llm.cache import CacheConfigError, ICacheProvider
from src.services.container.bindings.cache_bindings import build_cache
from tests.conftest import wait_until_near_serves
from tests.metrics.readings import by_attribute, collect, private_metrics, value
from tests.near.conftest import MakeNear, near, wait_for
from tests.redis_servers import RedisEndpoint, RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
def cache(make_near: MakeNear, redis_endpoint: RedisEndpoint) -> ICacheProvider:
    return make_near(redis_endpoint.url)


def settled(cache: ICacheProvider, invalidations: int) -> None:
    """Wait for the server's echo of this process's own writes (see test_gaps._holding_old)."""
    wait_for(lambda: near(cache)["invalidations"] > invalidations, 1.0, "the echo of our own write")


def quiet(cache: ICacheProvider, for_seconds: float = 0.1) -> None:
    """Wait until no invalidation has arrived for ``for_seconds`` (at most 2 s)."""
    deadline = time.monotonic() + 2.0
    seen, since = near(cache)["invalidations"], time.monotonic()
    while time.monotonic() - since < for_seconds:
        assert time.monotonic() < deadline, "invalidations still arriving after 2 s"
        time.sleep(0.005)
        now = near(cache)["invalidations"]
        if now != seen:
            seen, since = now, time.monotonic()


def held(cache: ICacheProvider, key: str) -> bool:
    """Whether a ``get`` of ``key`` is answered by the near cache (it counts as a near hit)."""
    hits = near(cache)["hits"]
    cache.get(key)
    return bool(near(cache)["hits"] > hits)


def test_own_writes_are_read_back_at_once_never_the_value_they_replaced(cache: ICacheProvider) -> None:
    for round_number in range(50):
        cache.set("k", round_number)
        assert cache.get("k") == cache.get("k") == round_number
        if round_number % 7 == 0:
            assert cache.delete("k")
            assert cache.get("k") is None
        if round_number % 11 == 0:
            cache.set_many({"k": "many", "other": 1})
            assert cache.get("k") == "many"
            assert cache.delete_many(["k", "other"]) == 2
            assert cache.get("k") is None


def test_values_handed_out_are_copies(cache: ICacheProvider) -> None:
    before = near(cache)["invalidations"]
    cache.set("k", {"items": [1, 2]})
    settled(cache, before)
    first = cache.get("k")
    first["items"].append(3)
    assert held(cache, "k")
    assert cache.get("k") == {"items": [1, 2]}


def test_an_entry_never_outlives_its_redis_ttl(cache: ICacheProvider) -> None:
    before = near(cache)["invalidations"]
    cache.set("short", "v", ttl=0.3)
    settled(cache, before)
    assert cache.get("short") == "v"
    assert held(cache, "short")
    time.sleep(0.3)
    # Not served near once its TTL is over, whether or not Redis has sent the expiry's
    # invalidation yet; Redis itself may still answer for a millisecond (its clock ticks by ms).
    assert not held(cache, "short")
    time.sleep(0.01)
    assert cache.get("short") is None


def test_a_namespace_clear_drops_its_own_and_its_childrens_entries_before_it_returns(
    cache: ICacheProvider,
) -> None:
    tenant = cache.namespace("tenant")
    session, sibling = tenant.namespace("session"), cache.namespace("tenant-b")
    scopes = {"cache": cache, "tenant": tenant, "session": session, "sibling": sibling}
    before = near(cache)["invalidations"]
    for label, scope in scopes.items():
        scope.set("k", label)
    # A namespaced write also touches its namespace's index, whose echo counts too: wait for the
    # data keys' four echoes and then for the stream to go quiet, so no late echo drops an entry.
    wait_for(lambda: near(cache)["invalidations"] >= before + 4, 1.0, "the echoes of our writes")
    quiet(cache)
    for label, scope in scopes.items():
        assert scope.get("k") == label
        assert held(scope, "k")
    assert tenant.clear() == 2
    assert tenant.get("k") is None
    assert session.get("k") is None
    assert held(cache, "k")
    assert held(sibling, "k")


def test_compute_once_through_the_near_cache_never_holds_a_lease(
    cache: ICacheProvider, redis_endpoint: RedisEndpoint
) -> None:
    started, release = threading.Event(), threading.Event()

    def compute() -> str:
        started.set()
        assert release.wait(5)
        return "computed"

    worker = threading.Thread(target=cache.get_or_set, args=("k", compute))
    worker.start()
    assert started.wait(5)
    for _ in range(3):  # the key holds the lease mark now: a miss, never held near
        assert cache.get("k") is None
    assert near(cache)["size"] == 0
    release.set()
    worker.join(5)
    assert cache.get("k") == cache.get("k") == "computed"
    assert cache.get_or_set("k", lambda: "again") == "computed"


def test_get_many_serves_what_is_held_and_asks_redis_for_the_rest(cache: ICacheProvider) -> None:
    before = near(cache)["invalidations"]
    cache.set_many({"a": 1, "b": 2, "c": 3})
    wait_for(lambda: near(cache)["invalidations"] >= before + 3, 1.0, "the echoes of our writes")
    assert cache.get("a") == 1
    hits = near(cache)["hits"]
    assert cache.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": 2, "c": 3}
    assert near(cache)["hits"] == hits + 1  # a was held; b, c and missing came in one MGET
    assert cache.exists("a")
    assert cache.exists("b")
    assert not cache.exists("missing")


def test_hits_served_near_count_as_the_caches_hits(cache: ICacheProvider) -> None:
    before = near(cache)["invalidations"]
    cache.set("k", 1)
    settled(cache, before)
    stats = cache.get_stats()
    for _ in range(5):
        cache.get("k")
    cache.get("missing")
    after = cache.get_stats()
    assert after["hits"] - stats["hits"] == 5
    assert after["misses"] - stats["misses"] == 1
    assert after["near"]["hits"] - stats["near"]["hits"] == 4  # the first read filled it


def test_large_values_are_not_kept_near(make_near: MakeNear, redis_endpoint: RedisEndpoint) -> None:
    cache = make_near(redis_endpoint.url)
    before = near(cache)["invalidations"]
    cache.set("big", "x" * 70_000)  # over near_cache.max_value_bytes (64 KiB)
    settled(cache, before)
    assert cache.get("big") == "x" * 70_000
    assert not held(cache, "big")


def test_the_metrics_export_the_near_section(redis_endpoint: RedisEndpoint) -> None:
    config = CacheConfig.from_mapping(
        {
            "providers": {
                "redis": {"enabled": True, "url": redis_endpoint.url, "near_cache": {"enabled": True}}
            }
        }
    )
    recorder, reader = private_metrics()
    cache = recorder.instrument(build_cache(config, "redis"), "hot")  # held: metrics hold caches weakly
    wait_until_near_serves(cache)
    before = near(cache)["invalidations"]
    cache.set("k", 1)
    settled(cache, before)
    for _ in range(3):
        cache.get("k")
    collected = collect(reader)
    assert by_attribute(collected, "agent_cache.near.requests", "cache.result") == {"hit": 2, "miss": 1}
    assert value(collected, "agent_cache.near.invalidations", {"cache.name": "hot"}) >= 1
    assert value(collected, "agent_cache.near.flushes", {"cache.name": "hot"}) == 0
    assert value(collected, "agent_cache.near.entries", {"cache.name": "hot"}) == 1
    cache.clear()
    cache.close()


# ---------------------------------------------------------------- lifetime


def test_building_dials_nothing_and_the_first_read_starts_tracking(redis_process: RedisServer) -> None:
    config = CacheConfig.from_mapping(
        {"providers": {"redis": {"enabled": True, "url": redis_process.url, "near_cache": {"enabled": True}}}}
    )
    cache = build_cache(config, "redis")
    with redis_process.client() as admin:
        assert [c for c in admin.client_list() if c.get("name") == CLIENT_NAME] == []
        cache.get("k")
        wait_for(lambda: cache.get_stats()["near"]["serving"], 5.0, "tracking established")
        assert len([c for c in admin.client_list() if c.get("name") == CLIENT_NAME]) == 1
        cache.close()
        wait_for(lambda: not [c for c in admin.client_list() if c.get("name") == CLIENT_NAME], 2.0, "closed")
        assert not cache.get_stats()["near"]["serving"]
        cache.get("k")  # usable after close: a read starts tracking again
        wait_for(lambda: cache.get_stats()["near"]["serving"], 5.0, "tracking established again")
        cache.close()


def test_an_async_first_read_starts_tracking_too(redis_endpoint: RedisEndpoint) -> None:
    config = CacheConfig.from_mapping(
        {
            "providers": {
                "redis": {"enabled": True, "url": redis_endpoint.url, "near_cache": {"enabled": True}}
            }
        }
    )
    cache = build_cache(config, "redis")

    async def first_read() -> None:
        await cache.get_async("k")

    asyncio.run(first_read())
    wait_for(lambda: cache.get_stats()["near"]["serving"], 5.0, "tracking established")
    cache.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_starts_with_nothing_near(cache: ICacheProvider) -> None:
    before = near(cache)["invalidations"]
    cache.set("k", "parent's")
    settled(cache, before)
    assert cache.get("k") == "parent's"
    assert held(cache, "k")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it inherited must not be served without a listener of its own
        stats = cache.get_stats()["near"]
        os.write(write, b"ok" if not stats["serving"] and stats["size"] == 0 else b"stale")
        os._exit(0)
    os.close(write)
    assert os.read(read, 16) == b"ok"
    os.waitpid(pid, 0)
    os.close(read)
    assert held(cache, "k")  # the parent's near cache is untouched


# ---------------------------------------------------------------- configuration and wiring


def test_the_container_builds_it_below_the_failure_policy_only_when_enabled(
    redis_endpoint: RedisEndpoint,
) -> None:
    def redis(near_cache: dict[str, object]) -> ICacheProvider:
        settings = {"enabled": True, "url": redis_endpoint.url, "near_cache": near_cache}
        return build_cache(CacheConfig.from_mapping({"providers": {"redis": settings}}), "redis")

    on, off = redis({"enabled": True, "max_size": 5}), redis({})
    assert isinstance(on, ResilientCacheProvider)
    assert isinstance(off, ResilientCacheProvider)
    assert isinstance(on.primary, NearCacheProvider)
    assert not isinstance(off.primary, NearCacheProvider)
    assert on.get_stats()["near"]["max_size"] == 5
    assert "near" not in off.get_stats()
    on.close()
    off.close()


def test_cluster_mode_refuses_a_near_cache_naming_the_setting() -> None:
    section = {
        "providers": {
            "shared": {
                "type": "redis",
                "mode": "cluster",
                "startup_nodes": ["10.0.0.1:7000"],
                "near_cache": {"enabled": True},
            }
        }
    }
    with pytest.raises(
        CacheConfigError, match=r"cache\.providers\.shared\.near_cache: not available with mode 'cluster'"
    ):
        CacheConfig.from_mapping(section)


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("protocol", 4, "between 2 and 3"),
        ("ping_interval", 0, "between 0.01 and 60"),
        ("max_size", 0, "between 1 and"),
    ],
)
def test_bad_near_cache_settings_are_refused_by_key_path(setting: str, value: object, problem: str) -> None:
    section = {"providers": {"redis": {"enabled": True, "near_cache": {"enabled": True, setting: value}}}}
    with pytest.raises(
        CacheConfigError, match=rf"cache\.providers\.redis\.near_cache\.{setting}: must be {problem}"
    ):
        CacheConfig.from_mapping(section)
