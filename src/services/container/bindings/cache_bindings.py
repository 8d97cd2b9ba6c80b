"""Which caches exist and how each is built: the only place that constructs a provider.

Every cache under ``cache.providers`` is registered under its name: ``resolver.get_named(
ICacheProvider, "llm_responses")``; ``resolver.get(ICacheProvider)`` is ``default_provider``. A
cache is built the first time it is asked for (a disabled one never: it is not registered), by
:func:`build_cache`: the factory of its ``type``, behind its near cache when a Redis cache turns
one on, wrapped in its failure policy when the type talks to a server that can go away (its
config class says ``remote``). :class:`NamedCaches`, a container
``Resource``, owns every cache it built and closes them on ``container.shutdown_resources()``.

To add a provider type: its config class in ``PROVIDER_CONFIG_TYPES`` (``config/caches.py``) and
its constructor in ``PROVIDER_FACTORIES`` below. Nothing else in the wiring changes.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from dependency_injector import containers, providers

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.config.cache_config import (
    BaseCacheConfig,
    CacheConfig,
    MemoryCacheConfig,
    RedisCacheConfig,
    RemoteCacheConfig,
)
from src.infrastructure.cache.near.near_provider import NearCacheProvider
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider
from src.infrastructure.cache.providers.redis.connections import ConnectionRegistry
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.infrastructure.cache.resilience.circuit_breaker import CircuitBreaker
from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from src.services.container.bindings.metrics_bindings import with_metrics
from src.services.container.resolver import ServiceRegistration


def _redis(config: RedisCacheConfig, connections: ConnectionRegistry) -> CacheProviderBase:
    """A Redis cache on the connections it shares with every cache of the same connection settings."""
    return RedisCacheProvider(config, connections=connections.acquire(config))


def _memory(config: MemoryCacheConfig, _connections: ConnectionRegistry) -> CacheProviderBase:
    return MemoryCacheProvider(config)


#: How each provider type is built from its config (``type:`` of a cache) and the container's
#: shared connections.
PROVIDER_FACTORIES: dict[str, Callable[[Any, ConnectionRegistry], CacheProviderBase]] = {
    "memory": _memory,
    "redis": _redis,
}


def build_cache(
    caches: CacheConfig, name: str, connections: ConnectionRegistry | None = None
) -> CacheProviderBase:
    """The cache ``name`` as services get it: its provider, behind its failure policy if remote.

    ``connections``: the registry whose connections the container's caches share (one pool per
    server and connection settings); None gives the cache connections of its own.

    A remote cache's fallback is a private instance built from the settings of its
    ``fallback_provider``, never the shared named one: recovery empties it, which must not wipe
    another service's entries. It keeps the remote cache's promises (see :func:`fallback_config`).
    """
    config = caches.providers[name]
    if connections is None:
        connections = ConnectionRegistry()
    provider = PROVIDER_FACTORIES[config.type_name](config, connections)
    if not isinstance(config, RemoteCacheConfig):
        return provider
    policy = config.failure_policy
    fallback = None
    if policy.on_error == "fallback":
        fallback = MemoryCacheProvider(fallback_config(config, caches.providers[policy.fallback_provider]))
    breaker = CircuitBreaker(policy.circuit_breaker.failure_threshold, policy.circuit_breaker.open_interval)
    return ResilientCacheProvider(
        _with_near_cache(provider, config, breaker),
        on_error=policy.on_error,
        breaker=breaker,
        fallback=fallback,
        max_pending_invalidations=policy.max_pending_invalidations,
    )


def _with_near_cache(
    provider: CacheProviderBase, config: RemoteCacheConfig, breaker: CircuitBreaker
) -> CacheProviderBase:
    """``provider`` behind its near cache when its config turns one on (Redis only), emptied by the
    failure policy's ``breaker`` opening; else ``provider`` itself. Below the failure policy: while
    the circuit is open the fallback serves, and its replay reaches the near cache too."""
    if not (isinstance(config, RedisCacheConfig) and config.near_cache.enabled):
        return provider
    assert isinstance(provider, RedisCacheProvider)  # the factory of type redis builds one
    return NearCacheProvider.over(provider, breaker)


def resilient_redis_provider(caches: CacheConfig) -> CacheProviderBase:
    """The cache named ``redis`` as services get it (``build_cache(caches, "redis")``)."""
    return build_cache(caches, "redis")


def fallback_config(primary: BaseCacheConfig, fallback: BaseCacheConfig) -> MemoryCacheConfig:
    """The settings of the private fallback that stands in for ``primary`` during an outage.

    Callers must not notice which one answered, so the fallback keeps the primary's promises: its
    ``default_ttl`` (a ``set`` without TTL expires as it would on Redis), its ``max_value_bytes``
    (what Redis takes is taken, what it refuses is refused), its ``compute`` settings, and copies,
    never references (``serialize_values`` always on, as Redis stores bytes). Only its size,
    ``max_size``, comes from the fallback cache's own settings: how much of the outage's writes
    this process may hold.
    """
    assert isinstance(fallback, MemoryCacheConfig)  # checked by the configuration
    return dataclasses.replace(
        fallback,
        enabled=True,
        default_ttl=primary.default_ttl,
        max_value_bytes=primary.max_value_bytes,
        compute=primary.compute,
        serialize_values=True,
    )


class NamedCaches:
    """Every configured cache, built on first use (thread-safe), closed together by :meth:`close`."""

    def __init__(self, config: CacheConfig) -> None:
        self._config = config
        # Reentrant: a container dropped while one of its caches is being built may be finalised by
        # the garbage collector on this very thread, in the middle of the build, and close() then
        # takes this lock again. (Seen: a resolver kept, its container not.)
        self._lock = threading.RLock()
        self._built: dict[str, CacheProviderBase] = {}
        self._connections = ConnectionRegistry()

    def get(self, name: str) -> CacheProviderBase:
        """The cache ``name``, built on the first call; the same object afterwards."""
        cache = self._built.get(name)
        if cache is None:
            with self._lock:
                cache = self._built.get(name)
                if cache is None:
                    built = build_cache(self._config, name, self._connections)
                    cache = self._built[name] = with_metrics(built, self._config, name)
        return cache

    def built(self) -> list[str]:
        """The names of the caches built so far, in the order they were built."""
        with self._lock:
            return list(self._built)

    def close(self) -> None:
        """Close every cache built, the last built first; the others still close if one fails."""
        with self._lock:
            built, self._built = list(self._built.values()), {}
        errors = []
        for cache in reversed(built):
            try:
                cache.close()
            except Exception as exc:  # close the rest, then report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]


def open_caches(config: CacheConfig) -> Iterator[NamedCaches]:
    """The container's caches, closed when the container shuts down."""
    caches = NamedCaches(config)
    try:
        yield caches
    finally:
        caches.close()


def cache_registration(caches: NamedCaches, config: CacheConfig) -> ServiceRegistration:
    """``ICacheProvider`` by name (every enabled cache, in configuration order) and by default."""
    return ServiceRegistration(
        default=partial(caches.get, config.default_provider),
        named={name: partial(caches.get, name) for name in config.enabled_providers},
    )


class CacheServiceBindings(containers.DeclarativeContainer):
    """Declares the caches; the configuration decides which exist and which is the default."""

    config = providers.Dependency(instance_of=CacheConfig)

    caches = providers.Resource(open_caches, config)

    registration = providers.Singleton(cache_registration, caches, config)
