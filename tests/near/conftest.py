"""Near caches as services get them (``Resilient(Near(Redis))``), on a server of the test's own.

Timeouts are the fault tests' (0.2 s socket timeout, 1 retry, 0.5 s circuit interval) and the
invalidation connection is PINGed after 0.1 s of silence, so a gap is noticed within 0.2 s and a
whole fault fits in a second or two.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import NearCacheConfig
from src.interfaces.llm.cache import ICacheProvider
from tests.colours import AsyncColour, TestLoops
from tests.conftest import wait_until_near_serves
from tests.faults.conftest import fast_failing, wrapped

PING_INTERVAL = 0.1
PROTOCOLS = (2, 3)

MakeNear = Callable[..., ICacheProvider]


@pytest.fixture(params=PROTOCOLS, ids=lambda protocol: f"resp{protocol}")
def protocol(request: pytest.FixtureRequest) -> int:
    value: int = request.param
    return value


@pytest.fixture(params=["sync", "async"])
def near_colour(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def make_near(protocol: int, near_colour: str) -> Iterator[MakeNear]:
    """``make(url, **RedisCacheConfig fields)``: a near cache on ``url`` in the test's protocol and
    colour (async: every call is its ``_async`` twin), serving when returned; closed afterwards."""
    loops = TestLoops()
    built: list[ICacheProvider] = []

    def make(url: str, **settings: Any) -> ICacheProvider:
        near = NearCacheConfig(enabled=True, protocol=protocol, ping_interval=PING_INTERVAL)
        provider: ICacheProvider = wrapped(fast_failing(url, near_cache=near, **settings))
        if near_colour == "async":
            provider = AsyncColour(provider, loops)  # type: ignore[arg-type]
        built.append(provider)
        wait_until_near_serves(provider)
        return provider

    yield make
    for provider in built:
        provider.close()
    loops.close()


def near(provider: ICacheProvider) -> dict[str, Any]:
    """The near cache's part of ``get_stats()``."""
    section: dict[str, Any] = provider.get_stats()["near"]
    return section


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; return the seconds it took (AssertionError naming ``what``)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.002)
    return time.monotonic() - started
