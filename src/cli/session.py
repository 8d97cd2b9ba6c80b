"""The container's lifetime within one CLI command, and the provider it asks for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from src.infrastructure.cache.config.cache_config import CacheConfig
from src.interfaces.container.resolver import IServiceResolver
from src.interfaces.llm.cache import ICacheProvider
from src.services.container import ApplicationContainer, create_container


@contextmanager
def open_container(config_path: Path | None) -> Iterator[ApplicationContainer]:
    """Build the container from ``config_path`` (None: the loader's search) and always shut it down."""
    container = create_container(config_path)
    try:
        yield container
    finally:
        container.shutdown_resources()


def resolved_config(container: ApplicationContainer) -> CacheConfig:
    """The validated configuration the container was built from."""
    config: CacheConfig = container.config()
    return config


def cache_provider(resolver: IServiceResolver, name: str | None) -> ICacheProvider:
    """The provider registered as ``name``, or the configured default when ``name`` is None."""
    if name is None:
        return resolver.get(ICacheProvider)
    return resolver.get_named(ICacheProvider, name)
