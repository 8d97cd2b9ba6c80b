"""Which cache providers exist and how each is built: the only place that constructs one.

To add a provider: give it a config class in ``PROVIDER_CONFIG_TYPES``
(``src/infrastructure/cache/config/cache_config.py``) and a factory in ``PROVIDER_FACTORIES``
below, declare it as a ``Resource`` and add it to ``default`` and ``registration``. Providers are
``Resource``s so that the container owns them: one instance per container, closed by
``container.shutdown_resources()``, and never built (never dialling a server) unless enabled and
asked for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from dependency_injector import containers, providers

from src.infrastructure.cache.config.cache_config import CacheConfig, MemoryCacheConfig, RedisCacheConfig
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.infrastructure.cache.resilience.circuit_breaker import CircuitBreaker
from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from src.interfaces.llm.cache import ICacheProvider
from src.services.container.resolver import ServiceRegistration

#: How each provider is built from its config. Also builds the private fallback of a Redis provider.
PROVIDER_FACTORIES: dict[str, Callable[[Any], ICacheProvider]] = {
    "memory": MemoryCacheProvider,
    "redis": RedisCacheProvider,
}


def resilient_redis_provider(cache_config: CacheConfig) -> ICacheProvider:
    """The Redis provider as services get it: behind its circuit breaker and failure policy.

    The fallback is a private instance built from the settings of ``fallback_provider``, never the
    shared named one: recovery empties it, which must not wipe another service's entries. It keeps
    the Redis cache's promises (see :func:`fallback_config`).
    """
    config = cache_config.providers["redis"]
    assert isinstance(config, RedisCacheConfig)
    fallback = None
    if config.on_error == "fallback":
        fallback = MemoryCacheProvider(
            fallback_config(config, cache_config.providers[config.fallback_provider])
        )
    breaker = CircuitBreaker(config.circuit_breaker.failure_threshold, config.circuit_breaker.open_interval)
    return ResilientCacheProvider(
        RedisCacheProvider(config),
        on_error=config.on_error,
        breaker=breaker,
        fallback=fallback,
        max_pending_invalidations=config.max_pending_invalidations,
    )


def fallback_config(primary: RedisCacheConfig, fallback: Any) -> MemoryCacheConfig:
    """The settings of the private fallback that stands in for ``primary`` during an outage.

    Callers must not notice which one answered, so the fallback keeps the primary's promises: its
    ``default_ttl`` (a ``set`` without TTL expires as it would on Redis), its ``max_value_bytes``
    (what Redis takes is taken, what it refuses is refused) and copies, never references
    (``serialize_values`` always on, as Redis stores bytes). Only its size, ``max_size``, comes from
    the fallback provider's own settings: how much of the outage's writes this process may hold.
    """
    assert isinstance(fallback, MemoryCacheConfig)
    return dataclasses.replace(
        fallback,
        enabled=True,
        default_ttl=primary.default_ttl,
        max_value_bytes=primary.max_value_bytes,
        serialize_values=True,
    )


def owned_provider(factory: Callable[[Any], ICacheProvider], config: Any) -> Iterator[ICacheProvider]:
    """Build a provider for the container and close it when the container shuts down."""
    provider = factory(config)
    try:
        yield provider
    finally:
        provider.close()


class CacheServiceBindings(containers.DeclarativeContainer):
    """Declares every cache provider; the configuration decides which are registered."""

    config = providers.Dependency(instance_of=CacheConfig)

    memory = providers.Resource(
        owned_provider, PROVIDER_FACTORIES["memory"], config.provided.providers["memory"]
    )

    redis = providers.Resource(owned_provider, resilient_redis_provider, config)

    default = providers.Selector(config.provided.default_provider, memory=memory, redis=redis)

    registration = providers.Singleton(
        ServiceRegistration.of_enabled,
        default=default.provider,
        named=providers.Dict(memory=memory.provider, redis=redis.provider),
        enabled=config.provided.enabled_providers,
    )
