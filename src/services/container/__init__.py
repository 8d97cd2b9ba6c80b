"""Entry point of the wiring: ``create_container()`` builds the container from configuration."""

from __future__ import annotations

import os

from dependency_injector import providers

from src.infrastructure.cache.config.loader import load_cache_config
from src.services.container.container import ApplicationContainer

__all__ = ["ApplicationContainer", "create_container"]


def create_container(config_path: str | os.PathLike[str] | None = None) -> ApplicationContainer:
    """Load and validate the configuration, then return a container ready to resolve services.

    ``config_path`` None: ``$AGENT_CACHE_CONFIG``, else ``configs/global.yaml``, else the packaged
    defaults. Raises :class:`~src.interfaces.llm.cache.CacheConfigError` for invalid configuration.
    Call ``container.shutdown_resources()`` to close every provider it built.
    """
    config = load_cache_config(config_path)
    return ApplicationContainer(config=providers.Object(config))
