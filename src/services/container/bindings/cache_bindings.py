"""Which cache providers exist and how each is built: the only place that constructs one.

To add a provider: give it a config class in ``PROVIDER_CONFIG_TYPES``
(``src/infrastructure/cache/config/cache_config.py``), declare it here as a ``Resource``, and add it
to ``default`` and ``registration``. Providers are ``Resource``s so that the container owns them: one
instance per container, closed by ``container.shutdown_resources()``, and never built (never dialling
a server) unless enabled and asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from dependency_injector import containers, providers

from src.infrastructure.cache.config.cache_config import BaseCacheConfig, CacheConfig
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider
from src.interfaces.llm.cache import ICacheProvider
from src.services.container.resolver import ServiceRegistration

C = TypeVar("C", bound=BaseCacheConfig)


def owned_provider(factory: Callable[[C], ICacheProvider], config: C) -> Iterator[ICacheProvider]:
    """Build a provider for the container and close it when the container shuts down."""
    provider = factory(config)
    try:
        yield provider
    finally:
        provider.close()


class CacheServiceBindings(containers.DeclarativeContainer):
    """Declares every cache provider; the configuration decides which are registered."""

    config = providers.Dependency(instance_of=CacheConfig)

    memory = providers.Resource(owned_provider, MemoryCacheProvider, config.provided.providers["memory"])

    default = providers.Selector(config.provided.default_provider, memory=memory)

    registration = providers.Singleton(
        ServiceRegistration.of_enabled,
        default=default.provider,
        named=providers.Dict(memory=memory.provider),
        enabled=config.provided.enabled_providers,
    )
