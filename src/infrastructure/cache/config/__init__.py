"""Configuration of agent-cache: YAML loading, interpolation and typed config objects."""

from src.infrastructure.cache.config.cache_config import (
    BaseCacheConfig,
    CacheConfig,
    CircuitBreakerConfig,
    ConnectionPoolConfig,
    FailurePolicyConfig,
    MemoryCacheConfig,
    RedisCacheConfig,
    RemoteCacheConfig,
)
from src.infrastructure.cache.config.loader import load_cache_config

__all__ = [
    "BaseCacheConfig",
    "CacheConfig",
    "CircuitBreakerConfig",
    "ConnectionPoolConfig",
    "FailurePolicyConfig",
    "MemoryCacheConfig",
    "RedisCacheConfig",
    "RemoteCacheConfig",
    "load_cache_config",
]
