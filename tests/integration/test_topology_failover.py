"""Failover under load: SIGKILL a cluster primary, then the sentinel-managed master, while threads call.

Three providers, as services get them (``resilient_redis_provider``), one per failure policy, each
under a concurrent load (``tests/topology/load.py``). While the primary is lost, ``raise`` callers
get ``CacheUnavailableError`` within a bounded time and ``fallback``/``ignore`` callers never see
an exception; once the cluster or the sentinels have promoted the replica, each provider serves
from Redis again without a restart. The time to recovery is measured and printed (docs/redis.md,
"Losing a primary"). The killed node is brought back before the test ends, so the session's topology
is whole again for the tests after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import (
    CacheConfig,
    CircuitBreakerConfig,
    MemoryCacheConfig,
    RedisCacheConfig,
)
from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from src.interfaces.llm.cache import CacheUnavailableError
from src.services.container.bindings.cache_bindings import resilient_redis_provider
from tests.conftest import unique_prefix
from tests.topology.cluster import RedisClusterTopology
from tests.topology.load import Load
from tests.topology.sentinel import (
    DATA_PASSWORD,
    SENTINEL_PASSWORD,
    SERVICE_NAME,
    RedisSentinelTopology,
)

pytestmark = pytest.mark.redis

POLICIES = ("raise", "fallback", "ignore")
#: No caller waits longer than this for an answer, even while the primary is lost.
CALL_BOUND = 3.0
#: A failover must be over within this (it takes a few seconds with these topologies' timeouts).
RECOVERY_BOUND = 20.0


def resilient(on_error: str, **topology: Any) -> ResilientCacheProvider:
    redis_config = RedisCacheConfig(
        enabled=True,
        key_prefix=unique_prefix(),
        default_ttl=60,
        on_error=on_error,  # type: ignore[arg-type]
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        # A short probe interval: the time measured is the failover's, not the breaker's wait.
        circuit_breaker=CircuitBreakerConfig(failure_threshold=1, open_interval=0.2),
        **topology,
    )
    config = CacheConfig(
        default_provider="redis", providers={"redis": redis_config, "memory": MemoryCacheConfig()}
    )
    provider = resilient_redis_provider(config)
    assert isinstance(provider, ResilientCacheProvider)
    return provider


@pytest.fixture
def make_policies() -> Iterator[Callable[..., dict[str, ResilientCacheProvider]]]:
    built: list[ResilientCacheProvider] = []

    def make(**topology: Any) -> dict[str, ResilientCacheProvider]:
        providers = {policy: resilient(policy, **topology) for policy in POLICIES}
        built.extend(providers.values())
        return providers

    yield make
    for provider in built:
        provider.clear()
        provider.close()


def serves_from_redis(provider: ResilientCacheProvider, attempt: int) -> bool:
    """A write through the provider that its Redis (not a fallback) then holds."""
    try:
        provider.set("probe", attempt)
        return bool(provider.primary.get("probe") == attempt)
    except CacheUnavailableError:
        return False


def fail_over(
    providers: dict[str, ResilientCacheProvider], kill: Callable[[], None], promoted: Callable[[], bool]
) -> dict[str, float]:
    """Kill the primary under load; return seconds from the kill to the promotion (``promoted``)
    and to each provider serving from Redis again; check what callers saw meanwhile."""
    with Load(providers, threads_per_provider=2, max_seconds=RECOVERY_BOUND + 10) as load:
        time.sleep(0.3)  # the load runs against a healthy primary first
        killed_at = time.monotonic()
        kill()
        times: dict[str, float] = {}
        attempt = 0
        while len(times) < len(providers) + 1 and time.monotonic() - killed_at < RECOVERY_BOUND:
            attempt += 1
            if "promoted" not in times and promoted():
                times["promoted"] = time.monotonic() - killed_at
            for name, provider in providers.items():
                if name not in times and serves_from_redis(provider, attempt):
                    times[name] = time.monotonic() - killed_at
            time.sleep(0.02)
        recovered_at = killed_at + max(times.values())
        time.sleep(0.5)  # full service after recovery: the load keeps running, and must not fail
    assert set(times) == {"promoted", *providers}, f"no recovery within {RECOVERY_BOUND} s: {times}"
    report = load.report
    by_policy = {name: [f for f in report.failures if f.provider == name] for name in providers}
    assert report.slowest < CALL_BOUND
    assert by_policy["raise"], "the raise policy's callers never saw the outage"
    assert all(isinstance(failure.error, CacheUnavailableError) for failure in by_policy["raise"])
    assert by_policy["fallback"] == []
    assert by_policy["ignore"] == []
    assert load.failures_after(recovered_at + 0.2) == []
    for provider in providers.values():
        assert provider.health()["healthy"] is True
    print(
        f"\n  {report.calls} calls by {len(providers) * 3} workers, slowest {report.slowest:.2f} s, "
        f"{len(by_policy['raise'])} CacheUnavailableError under on_error=raise; seconds after the kill: "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in times.items())
    )
    return times


def test_cluster_primary_killed_under_load(
    redis_cluster: RedisClusterTopology, make_policies: Callable[..., dict[str, ResilientCacheProvider]]
) -> None:
    providers = make_policies(mode="cluster", startup_nodes=redis_cluster.startup_nodes)
    for provider in providers.values():
        provider.set_many({f"warm-{i}": i for i in range(30)})  # a connection to every primary
    victim = redis_cluster.primaries()[0]
    try:
        times = fail_over(providers, victim.kill, redis_cluster.is_healthy)
    finally:
        rejoined = redis_cluster.restart(victim)
    print(f"  cluster: the killed primary rejoined as a replica in {rejoined:.2f} s")
    assert times["promoted"] < RECOVERY_BOUND
    cache = providers["raise"]
    cache.set_many({f"after-{i}": i for i in range(50)})  # every slot range is served again
    assert cache.get_many([f"after-{i}" for i in range(50)]) == {f"after-{i}": i for i in range(50)}
    # Right after the restart, the node asked may still list the old primary as one: gossip takes a
    # moment to converge. Poll (bounded) rather than read once.
    deadline = time.monotonic() + 10
    while (roles := list(cache.get_stats()["topology"]["nodes"].values())).count("primary") != 3:
        assert time.monotonic() < deadline, f"topology did not settle on 3 primaries: {roles}"
        time.sleep(0.1)


def test_sentinel_master_killed_under_load(
    redis_sentinel: RedisSentinelTopology, make_policies: Callable[..., dict[str, ResilientCacheProvider]]
) -> None:
    providers = make_policies(
        mode="sentinel",
        sentinels=redis_sentinel.sentinel_addresses,
        service_name=SERVICE_NAME,
        password=DATA_PASSWORD,
        sentinel_password=SENTINEL_PASSWORD,
    )
    victim = redis_sentinel.current_master()
    try:
        times = fail_over(providers, victim.kill, lambda: redis_sentinel.current_master() is not victim)
    finally:
        rejoined = redis_sentinel.restart_as_replica(victim)
    print(f"  sentinel: the killed master rejoined as a replica in {rejoined:.2f} s")
    assert times["promoted"] < RECOVERY_BOUND
    new_master = redis_sentinel.current_master()
    assert new_master is not victim
    topology = providers["raise"].get_stats()["topology"]
    assert topology["nodes"][f"{new_master.host}:{new_master.port}"] == "primary"
