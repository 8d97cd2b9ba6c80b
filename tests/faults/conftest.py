"""Fault-injection fixtures: redis-server processes of each test alone, and the provider as services
get it (``resilient_redis_provider``), tuned to fail fast so a whole outage fits in a second or two."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
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
from tests.redis_servers import INSTALL_REDIS_SERVER, RedisServer

SOCKET_TIMEOUT = 0.2
RETRIES = 1
OPEN_INTERVAL = 0.5
FAILURE_THRESHOLD = 3
#: What one call to a hung server may cost: every attempt waits one socket timeout.
CALL_BOUND = SOCKET_TIMEOUT * (RETRIES + 1)
#: Scheduling noise on a busy 2-core machine (12 callers, the GIL, a redis-server or two).
SLACK = 0.3

MakeResilient = Callable[..., ResilientCacheProvider]


def fast_failing(url: str, **settings: Any) -> RedisCacheConfig:
    """A Redis config with the short timeouts and breaker interval of the fault tests."""
    return RedisCacheConfig(
        **{
            "enabled": True,
            "url": url,
            "key_prefix": unique_prefix(),
            "default_ttl": 60,
            "socket_timeout": SOCKET_TIMEOUT,
            "socket_connect_timeout": SOCKET_TIMEOUT,
            "retries": RETRIES,
            "circuit_breaker": CircuitBreakerConfig(FAILURE_THRESHOLD, OPEN_INTERVAL),
            **settings,
        }
    )


def wrapped(config: RedisCacheConfig) -> ResilientCacheProvider:
    """The provider exactly as the container builds it for ``config``."""
    provider = resilient_redis_provider(
        CacheConfig(default_provider="redis", providers={"redis": config, "memory": MemoryCacheConfig()})
    )
    assert isinstance(provider, ResilientCacheProvider)
    return provider


def _need_redis_server() -> None:
    if not shutil.which("redis-server"):
        pytest.fail(f"fault tests start their own redis-server; {INSTALL_REDIS_SERVER}", pytrace=False)


@pytest.fixture
def persistent_server() -> Iterator[RedisServer]:
    """A redis-server that writes every command to its append-only file: a restart keeps the data."""
    _need_redis_server()
    with RedisServer(persistent=True) as server:
        yield server


@pytest.fixture
def make_resilient() -> Iterator[MakeResilient]:
    """Builds wrapped providers (``url`` first, then ``RedisCacheConfig`` fields); closes them after."""
    built: list[ResilientCacheProvider] = []

    def make(url: str, **settings: Any) -> ResilientCacheProvider:
        built.append(wrapped(fast_failing(url, **settings)))
        return built[-1]

    yield make
    for provider in built:
        provider.close()


def circuit(provider: ResilientCacheProvider) -> dict[str, Any]:
    """The breaker's part of ``get_stats()``."""
    state: dict[str, Any] = provider.get_stats()["resilience"]["circuit"]
    return state


def wait_for_state(provider: ResilientCacheProvider, state: str, timeout: float) -> float:
    """Wait until the circuit is in ``state`` (traffic keeps flowing elsewhere); return when it was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if circuit(provider)["state"] == state:
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError(f"circuit not {state} within {timeout}s: {circuit(provider)}")


def settle(provider: ResilientCacheProvider, timeout: float = 5.0) -> None:
    """Make sure the outage is over for ``provider``: circuit closed, every invalidation replayed.

    A circuit opened again by a late failure closes only when a call probes after ``open_interval``;
    so, until then, wait that long and make the call. Only then is Redis itself fit to inspect.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = provider.get_stats()["resilience"]
        if state["circuit"]["state"] == "closed" and state["pending_invalidations"] == 0:
            return
        time.sleep(OPEN_INTERVAL + 0.02)
        with suppress(CacheUnavailableError):  # on_error=raise, and Redis still away
            provider.exists("settle")  # the first call after open_interval probes and replays
    raise AssertionError(f"outage not over within {timeout}s: {provider.get_stats()['resilience']}")
