"""Fixtures shared by the whole suite.

The contract suite (``tests/contract``) takes ``cache_provider`` (or ``make_cache_provider`` to pick
settings) and never asks which provider it got: every provider in ``CONTRACT_PROVIDERS`` runs every
contract test, in both colours: ``sync`` calls the provider's methods as they are, ``async`` answers
each of them with its ``_async`` twin (``tests/colours.py``), so ids read ``test_x[redis-async]``.
A test that calls both colours itself on purpose is marked ``mixed_colours`` and runs once
(``[redis-mixed]``). A new provider joins by adding a ``make_<name>_provider`` fixture and its name
to that list.
"""

from __future__ import annotations

import inspect
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.config.cache_config import (
    CacheConfig,
    MemoryCacheConfig,
    NearCacheConfig,
    RedisCacheConfig,
)
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import ICacheProvider
from src.services.container.bindings.cache_bindings import resilient_redis_provider
from tests.colours import COLOURS, MIXED, AsyncColour, TestLoops
from tests.redis_servers import (
    INSTALL_REDIS_SERVER,
    NoRedisServerError,
    RedisEndpoint,
    RedisServer,
    find_redis,
)
from tests.topology.cluster import RedisClusterTopology
from tests.topology.sentinel import (
    DATA_PASSWORD,
    SENTINEL_PASSWORD,
    SERVICE_NAME,
    RedisSentinelTopology,
)

ProviderFactory = Callable[..., ICacheProvider]


class TestClock:
    """Time as the provider under test sees it.

    ``advance`` moves the fake clock the memory provider reads, and really sleeps for providers that
    use the server's clock (``sleeps = True``), so a TTL test reads the same for both.
    """

    __test__ = False  # not a test class

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps = False

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        if self.sleeps:
            import time

            time.sleep(seconds)


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def make_memory_provider(clock: TestClock) -> Iterator[ProviderFactory]:
    """Builds memory providers on the test clock; closes them at teardown."""
    built: list[MemoryCacheProvider] = []

    def make(**settings: Any) -> ICacheProvider:
        config = MemoryCacheConfig(**{"max_size": 1000, "default_ttl": 60, **settings})
        built.append(MemoryCacheProvider(config, timer=clock))
        return built[-1]

    yield make
    for provider in built:
        provider.close()


@pytest.fixture(scope="session")
def redis_endpoint() -> Iterator[RedisEndpoint]:
    """The session's Redis server (see ``tests/redis_servers.py``); the test fails if there is none."""
    failure = None
    try:
        endpoint, release = find_redis()
    except NoRedisServerError as exc:
        failure = str(exc)
    if failure is not None:  # outside the except block, so the report is the message alone
        pytest.fail(failure, pytrace=False)
    yield endpoint
    release()


@pytest.fixture
def redis_process() -> Iterator[RedisServer]:
    """A ``redis-server`` of this test alone, for fault injection (kill, pause, restart)."""
    if not shutil.which("redis-server"):
        pytest.fail(
            f"this test starts its own redis-server and none is on PATH; {INSTALL_REDIS_SERVER}",
            pytrace=False,
        )
    with RedisServer() as server:
        yield server


def unique_prefix() -> str:
    """A key prefix no other test uses: Redis tests share one server and never flush it."""
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture
def make_redis_provider(
    redis_endpoint: RedisEndpoint, clock: TestClock
) -> Iterator[Callable[..., RedisCacheProvider]]:
    """Builds Redis providers, each under its own fresh key prefix; clears and closes them at teardown."""
    yield from _redis_providers(clock, url=redis_endpoint.url)


@pytest.fixture
def redis_provider(make_redis_provider: Callable[..., RedisCacheProvider]) -> RedisCacheProvider:
    """A Redis provider with ``default_ttl`` 60 s, empty, under its own key prefix."""
    return make_redis_provider()


@pytest.fixture
def make_resilient_redis_provider(
    redis_endpoint: RedisEndpoint, clock: TestClock
) -> Iterator[Callable[..., ICacheProvider]]:
    """Builds the Redis provider as services get it (``resilient_redis_provider``, on_error=fallback).

    The server is healthy, so every call goes to Redis through the circuit breaker and the wrapper.
    """
    clock.sleeps = True
    built: list[ICacheProvider] = []

    def make(**settings: Any) -> ICacheProvider:
        redis = redis_endpoint.config(
            **{"key_prefix": unique_prefix(), "default_ttl": 60, "on_error": "fallback", **settings}
        )
        config = CacheConfig(
            default_provider="redis", providers={"redis": redis, "memory": MemoryCacheConfig()}
        )
        built.append(resilient_redis_provider(config))
        return built[-1]

    yield make
    for provider in built:
        provider.clear()
        provider.close()


@pytest.fixture
def make_near_redis_provider(
    redis_endpoint: RedisEndpoint, clock: TestClock
) -> Iterator[Callable[..., ICacheProvider]]:
    """Builds the Redis cache as services get it with its near cache on (``near_cache.enabled``),
    each returned once its invalidation tracking is established, so that every read goes through
    the near cache (a hit served there, a miss filling it) and every write through its drops."""
    clock.sleeps = True
    built: list[ICacheProvider] = []

    def make(**settings: Any) -> ICacheProvider:
        redis = redis_endpoint.config(
            **{
                "key_prefix": unique_prefix(),
                "default_ttl": 60,
                "on_error": "fallback",
                "near_cache": NearCacheConfig(enabled=True),
                **settings,
            }
        )
        config = CacheConfig(
            default_provider="redis", providers={"redis": redis, "memory": MemoryCacheConfig()}
        )
        built.append(resilient_redis_provider(config))
        wait_until_near_serves(built[-1])
        return built[-1]

    yield make
    for provider in built:
        provider.clear()
        provider.close()


def wait_until_near_serves(provider: ICacheProvider, timeout: float = 5.0) -> None:
    """Start ``provider``'s invalidation listener (a read does) and wait until its near cache serves."""
    deadline = time.monotonic() + timeout
    provider.exists("near-cache-start")  # not a lookup: counts nothing
    while not provider.get_stats()["near"]["serving"]:
        if time.monotonic() > deadline:
            raise AssertionError(f"near cache not serving after {timeout} s: {provider.get_stats()['near']}")
        time.sleep(0.002)


def _need_binaries(what: str) -> None:
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        pytest.fail(
            f"{what} is built from redis-server processes (and redis-cli); {INSTALL_REDIS_SERVER}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterTopology]:
    """The session's Redis Cluster: 3 primaries, 1 replica each (``tests/topology/cluster.py``).

    Tests that kill a node restore it and wait until the cluster is healthy again before they end.
    """
    _need_binaries("a Redis Cluster")
    with RedisClusterTopology() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinelTopology]:
    """The session's master, replica and 3 sentinels (``tests/topology/sentinel.py``)."""
    _need_binaries("a Sentinel setup")
    with RedisSentinelTopology() as sentinel:
        yield sentinel


def _redis_providers(clock: TestClock, **base: Any) -> Iterator[Callable[..., RedisCacheProvider]]:
    """A factory of Redis providers with ``base`` settings, each under a fresh key prefix; it clears
    and closes them at teardown. Redis expires on the server's clock: TTL tests really wait."""
    clock.sleeps = True
    built: list[RedisCacheProvider] = []

    def make(**settings: Any) -> RedisCacheProvider:
        config = RedisCacheConfig(
            **{"enabled": True, "key_prefix": unique_prefix(), "default_ttl": 60, **base, **settings}
        )
        built.append(RedisCacheProvider(config))
        return built[-1]

    yield make
    for provider in built:
        provider.clear()
        provider.close()


@pytest.fixture
def make_redis_cluster_provider(
    redis_cluster: RedisClusterTopology, clock: TestClock
) -> Iterator[Callable[..., RedisCacheProvider]]:
    """Redis providers in cluster mode on the session's cluster."""
    yield from _redis_providers(clock, mode="cluster", startup_nodes=redis_cluster.startup_nodes)


@pytest.fixture
def make_redis_sentinel_provider(
    redis_sentinel: RedisSentinelTopology, clock: TestClock
) -> Iterator[Callable[..., RedisCacheProvider]]:
    """Redis providers in sentinel mode, on the master the session's sentinels name."""
    yield from _redis_providers(
        clock,
        mode="sentinel",
        sentinels=redis_sentinel.sentinel_addresses,
        service_name=SERVICE_NAME,
        password=DATA_PASSWORD,
        sentinel_password=SENTINEL_PASSWORD,
    )


#: Names of the providers that must pass the whole contract suite. Each name N needs a fixture
#: ``make_N_provider`` returning a factory: ``make(**settings) -> ICacheProvider``, where settings are
#: fields of the provider's config class (``default_ttl``, ``max_value_bytes``, ...), and which
#: closes what it built at teardown. Each provider it builds starts empty.
CONTRACT_PROVIDERS = ["memory", "redis", "resilient_redis", "near_redis", "redis_cluster", "redis_sentinel"]


@pytest.fixture(params=CONTRACT_PROVIDERS)
def make_cache_provider(request: pytest.FixtureRequest, colour: str) -> Iterator[ProviderFactory]:
    """The factory of each contract provider in turn, in the test's ``colour``.

    In the ``async`` colour every provider it builds is an :class:`~tests.colours.AsyncColour` on
    the test's own event loops, closed at teardown (before the provider's factory clears and
    closes the provider itself).
    """
    factory: ProviderFactory = request.getfixturevalue(f"make_{request.param}_provider")
    if colour != "async":
        yield factory
        return
    loops = TestLoops()

    def make(**settings: Any) -> ICacheProvider:
        provider = factory(**settings)
        assert isinstance(provider, CacheProviderBase)  # every provider of the project is one
        return AsyncColour(provider, loops)

    yield make
    loops.close()


@pytest.fixture
def cache_provider(make_cache_provider: ProviderFactory) -> ICacheProvider:
    """Each contract provider in turn, empty, with ``default_ttl`` 60 s and room for 1000 entries."""
    return make_cache_provider()


@pytest.fixture
def colour(request: pytest.FixtureRequest) -> str:
    """How the test reaches the provider: ``sync``, ``async`` or ``mixed`` (see ``tests/colours.py``).

    Parametrised by :func:`pytest_generate_tests`, not here: a test marked ``mixed_colours`` gets
    only ``mixed``."""
    value: str = request.param
    return value


@pytest.hookimpl(trylast=True)  # last, so the colour ends each id: test_x[redis-space-async]
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses ``colour`` runs in both colours, or once if it mixes them on purpose."""
    if "colour" not in metafunc.fixturenames:
        return
    mixed = metafunc.definition.get_closest_marker("mixed_colours") is not None
    if not mixed and inspect.iscoroutinefunction(metafunc.function):
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid} is an async def contract test: it drives the async twins "
            "from its own event loop, so it mixes colours; mark it @pytest.mark.mixed_colours"
        )
    metafunc.parametrize("colour", [MIXED] if mixed else list(COLOURS), indirect=True)
