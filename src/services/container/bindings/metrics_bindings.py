"""The container's caches, observed by agent-cache's OpenTelemetry metrics (``docs/metrics.md``).

Applied to every cache the container builds, outermost, so durations are those its callers see. With
no OpenTelemetry SDK configured when the cache is built (or without ``opentelemetry-api``), the cache
is returned as it is. A Redis cache built while an SDK records also turns on redis-py's own metrics.
"""

from __future__ import annotations

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.config.cache_config import CacheConfig, RedisCacheConfig
from src.infrastructure.cache.metrics import default_metrics
from src.infrastructure.cache.metrics.redis_py import enable_redis_py_metrics


def with_metrics(cache: CacheProviderBase, caches: CacheConfig, name: str) -> CacheProviderBase:
    """The cache ``name`` (configured in ``caches``) as services get it: observed, timed if an SDK
    records; ``cache`` itself without the OpenTelemetry API."""
    metrics = default_metrics()
    if metrics is None:
        return cache
    if isinstance(caches.providers[name], RedisCacheConfig):
        enable_redis_py_metrics(metrics.meter_provider())
    return metrics.instrument(cache, name)
