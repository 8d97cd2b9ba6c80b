"""The LLM-response cache in the container: ``resolver.get(ILLMResponseCache)``.

One :class:`LLMResponseCache` per container, over the named cache ``cache.llm.cache`` (default:
``default_provider``), taken from the same :class:`NamedCaches` every ``ICacheProvider`` comes from:
services asking for that cache by name and the LLM cache share one provider object, and the
container closes it once. Built on first use, like the caches.
"""

from __future__ import annotations

from functools import partial

from dependency_injector import containers, providers

from src.infrastructure.cache.config.cache_config import CacheConfig
from src.infrastructure.cache.llm.response_cache import LLMResponseCache
from src.infrastructure.cache.metrics import observe
from src.services.container.bindings.cache_bindings import NamedCaches
from src.services.container.resolver import ServiceRegistration


def build_llm_cache(caches: NamedCaches, config: CacheConfig) -> LLMResponseCache:
    """The LLM-response cache over the cache ``cache.llm`` names, its counters exported as the
    ``agent_cache.llm.*`` metrics under that cache's name."""
    name = config.llm_cache
    llm_cache = LLMResponseCache(caches.get(name), config.llm, cache_name=name)
    observe(name, llm_cache, kind="llm")
    return llm_cache


def llm_registration(llm_cache: providers.Provider[LLMResponseCache]) -> ServiceRegistration:
    """``ILLMResponseCache``: one, the default, built on first use; not registered by name."""
    return ServiceRegistration(default=partial(llm_cache), named={})


class LLMCacheBindings(containers.DeclarativeContainer):
    """Declares the LLM-response cache over the container's named caches."""

    config = providers.Dependency(instance_of=CacheConfig)
    caches = providers.Dependency(instance_of=NamedCaches)

    llm_cache = providers.Singleton(build_llm_cache, caches, config)

    registration = providers.Singleton(llm_registration, llm_cache.provider)
