"""The application container: configuration in, a resolver out."""

from __future__ import annotations

from dependency_injector import containers, providers

from src.infrastructure.cache.config.cache_config import CacheConfig
from src.interfaces.llm.cache import ICacheProvider
from src.interfaces.llm.response_cache import ILLMResponseCache
from src.services.container.bindings.cache_bindings import CacheServiceBindings
from src.services.container.bindings.llm_bindings import LLMCacheBindings
from src.services.container.resolver import ContainerResolver


class ApplicationContainer(containers.DeclarativeContainer):
    """Holds the validated configuration, the cache bindings and the resolver services use."""

    config = providers.Dependency(instance_of=CacheConfig)

    cache = providers.Container(CacheServiceBindings, config=config)

    llm = providers.Container(LLMCacheBindings, config=config, caches=cache.caches)

    resolver = providers.Singleton(
        ContainerResolver,
        providers.Dict({ICacheProvider: cache.registration, ILLMResponseCache: llm.registration}),
    )
