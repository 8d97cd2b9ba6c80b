"""Fixtures shared by the whole suite.

The contract suite (``tests/contract``) takes ``cache_provider`` and never asks which provider it
got: every provider in ``CONTRACT_PROVIDERS`` runs every contract test, sync and async. A new
provider joins by adding a fixture below and its name to that list.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from src.infrastructure.cache.config.cache_config import MemoryCacheConfig
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider
from src.interfaces.llm.cache import ICacheProvider


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
def memory_provider(clock: TestClock) -> Iterator[MemoryCacheProvider]:
    provider = MemoryCacheProvider(MemoryCacheConfig(max_size=1000, default_ttl=60), timer=clock)
    yield provider
    provider.close()


#: Fixture names of the providers that must pass the whole contract suite.
CONTRACT_PROVIDERS = ["memory_provider"]


@pytest.fixture(params=CONTRACT_PROVIDERS)
def cache_provider(request: pytest.FixtureRequest) -> ICacheProvider:
    """Each contract provider in turn, empty, with ``default_ttl`` 60 s and room for 1000 entries."""
    provider: ICacheProvider = request.getfixturevalue(request.param)
    return provider
