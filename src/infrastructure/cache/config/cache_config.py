"""Typed, validated configuration of agent-cache: one frozen object per named cache.

Parsed once at start-up from the ``cache:`` section of the YAML file (see
:mod:`src.infrastructure.cache.config.loader`). Providers receive these objects, never raw dicts.
Every error is a :class:`CacheConfigError` that names the key path and the bad value (masked for
secrets); nothing is silently replaced by a default.

The config classes live in :mod:`.base_config` (every cache, remote caches' failure policy, memory)
and :mod:`.redis_config`; the named caches are parsed in :mod:`.caches`. They are all importable
from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from src.infrastructure.cache.config.base_config import (
    MAX_VALUE_BYTES,
    BaseCacheConfig,
    CircuitBreakerConfig,
    ConnectionPoolConfig,
    FailurePolicyConfig,
    MemoryCacheConfig,
    NearCacheConfig,
    RemoteCacheConfig,
)
from src.infrastructure.cache.config.caches import IMPLICIT_CACHES, PROVIDER_CONFIG_TYPES, parse_caches
from src.infrastructure.cache.config.llm_config import LLMCacheConfig, ModelPrice, parse_llm
from src.infrastructure.cache.config.redis_config import RedisCacheConfig, parse_address
from src.infrastructure.cache.config.sections import SettingError, did_you_mean, display, refuse_unknown_keys

__all__ = [
    "IMPLICIT_CACHES",
    "MAX_VALUE_BYTES",
    "PROVIDER_CONFIG_TYPES",
    "ROOT",
    "BaseCacheConfig",
    "CacheConfig",
    "CircuitBreakerConfig",
    "ConnectionPoolConfig",
    "FailurePolicyConfig",
    "LLMCacheConfig",
    "MemoryCacheConfig",
    "ModelPrice",
    "NearCacheConfig",
    "RedisCacheConfig",
    "RemoteCacheConfig",
    "parse_address",
]

ROOT = "cache"
#: The keys of the ``cache:`` section that only agent-cache uses: at the top level of a file they
#: are a misplaced cache section (the loader says so).
SECTION_KEYS = ("default_provider", "providers")
#: Every key of the ``cache:`` section. ``llm`` is not in SECTION_KEYS: a framework's file may well
#: have a top-level ``llm:`` of its own.
KNOWN_KEYS = (*SECTION_KEYS, "llm")


@dataclass(frozen=True)
class CacheConfig:
    """The whole ``cache:`` section: which caches exist and which is the default."""

    default_provider: str
    #: Every cache by name, in file order, then ``memory`` and ``redis`` if the file names neither
    #: (with their defaults: redis disabled).
    providers: Mapping[str, BaseCacheConfig]
    #: Where this configuration was read from, for people (a path, or the packaged defaults).
    source: str = field(default="<mapping>", compare=False)
    #: The LLM-response cache (``cache.llm``); its ``cache`` unset means ``default_provider``.
    llm: LLMCacheConfig = field(default_factory=LLMCacheConfig)

    @property
    def enabled_providers(self) -> dict[str, BaseCacheConfig]:
        """The caches to register, by name, in configuration order."""
        return {name: config for name, config in self.providers.items() if config.enabled}

    @property
    def llm_cache(self) -> str:
        """The named cache that holds the LLM-response cache's answers."""
        return self.llm.cache or self.default_provider

    def type_of(self, name: str) -> str:
        """The provider type of cache ``name`` (``"memory"``, ``"redis"``); ``KeyError`` if none."""
        return self.providers[name].type_name

    @classmethod
    def from_mapping(cls, section: Any, source: str = "<mapping>") -> CacheConfig:
        """Validate the parsed ``cache:`` section; raise :class:`CacheConfigError` naming the key path."""
        section = _section(section)
        refuse_unknown_keys(section, ROOT, KNOWN_KEYS)
        providers = parse_caches(section.get("providers"), f"{ROOT}.providers")
        default = _default_provider(section.get("default_provider", "memory"), providers)
        llm = parse_llm(section.get("llm"), f"{ROOT}.llm", providers)
        return cls(default_provider=default, providers=providers, source=source, llm=llm)

    def display(self) -> dict[str, Any]:
        """The resolved configuration as plain data, secrets masked: safe to print or log."""
        return {
            "default_provider": self.default_provider,
            "providers": {
                name: {"type": config.type_name, **display(config)} for name, config in self.providers.items()
            },
            "llm": self.llm.display(self.default_provider),
        }


def _section(section: Any) -> Mapping[Any, Any]:
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise SettingError(ROOT, f"expected a mapping, got {type(section).__name__}")
    return section


def _default_provider(default: Any, providers: Mapping[str, BaseCacheConfig]) -> str:
    """``default_provider``, which must name an enabled cache."""
    enabled = [name for name, config in providers.items() if config.enabled]
    choices = f"enabled providers: {', '.join(enabled) or '(none)'}"
    path = f"{ROOT}.default_provider"
    if not isinstance(default, str):  # a list or mapping cannot even be looked up by name
        raise SettingError(path, f"expected a provider name, got {type(default).__name__}; {choices}")
    if default in enabled:
        return default
    if default in providers:
        enable = f"{ROOT}.providers.{default}.enabled: true"
        raise SettingError(path, f"{default!r} is disabled (set {enable}, or choose another); {choices}")
    hint = did_you_mean(default, providers)
    raise SettingError(path, f"{default!r} is not a provider{hint}{' ' if hint else '; '}{choices}")
