"""Fixtures shared by the whole suite.

The contract suite (``tests/contract``) takes ``cache_provider`` (or ``make_cache_provider`` to pick
settings) and never asks which provider it got: every provider in ``CONTRACT_PROVIDERS`` runs every
contract test, sync and async. A new provider joins by adding a ``make_<name>_provider`` fixture and
its name to that list.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import MemoryCacheConfig
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import ICacheProvider
from tests.redis_servers import (
    INSTALL_REDIS_SERVER,
    NoRedisServerError,
    RedisEndpoint,
    RedisServer,
    find_redis,
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
    clock.sleeps = True  # Redis expires entries on the server's clock: TTL tests really wait
    built: list[RedisCacheProvider] = []

    def make(**settings: Any) -> RedisCacheProvider:
        config = redis_endpoint.config(**{"key_prefix": unique_prefix(), "default_ttl": 60, **settings})
        built.append(RedisCacheProvider(config))
        return built[-1]

    yield make
    for provider in built:
        provider.clear()
        provider.close()


@pytest.fixture
def redis_provider(make_redis_provider: Callable[..., RedisCacheProvider]) -> RedisCacheProvider:
    """A Redis provider with ``default_ttl`` 60 s, empty, under its own key prefix."""
    return make_redis_provider()


#: Names of the providers that must pass the whole contract suite. Each name N needs a fixture
#: ``make_N_provider`` returning a factory: ``make(**settings) -> ICacheProvider``, where settings are
#: fields of the provider's config class (``default_ttl``, ``max_value_bytes``, ...), and which
#: closes what it built at teardown. Each provider it builds starts empty.
CONTRACT_PROVIDERS = ["memory", "redis"]


@pytest.fixture(params=CONTRACT_PROVIDERS)
def make_cache_provider(request: pytest.FixtureRequest) -> ProviderFactory:
    """The factory of each contract provider in turn."""
    factory: ProviderFactory = request.getfixturevalue(f"make_{request.param}_provider")
    return factory


@pytest.fixture
def cache_provider(make_cache_provider: ProviderFactory) -> ICacheProvider:
    """Each contract provider in turn, empty, with ``default_ttl`` 60 s and room for 1000 entries."""
    return make_cache_provider()
