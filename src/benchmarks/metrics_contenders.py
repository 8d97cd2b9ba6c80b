"""What agent-cache's OpenTelemetry metrics cost a sync ``get``, on the memory and the Redis cache.

Four contenders per case, all reading the same cache (one provider, wrapped or not):

* ``plain``: the cache as the container builds it, no metrics at all (as without opentelemetry-api);
* ``no-sdk``: the cache through ``instrument_cache``, the container's own path, in this process,
  where no SDK is configured: the issue's target (at most 3% over ``plain``);
* ``api-wrap``: the timing wrapper forced on over the API's instruments with no SDK behind them -
  the design not taken (always wrapping), for comparison;
* ``sdk``: the timing wrapper recording into an OpenTelemetry SDK ``MeterProvider`` (an in-memory
  reader), what a service with an SDK pays; skipped, with a note, without ``opentelemetry-sdk``.

redis-py's own command metrics (turned on with an SDK, through the process's global provider) are
not in the ``sdk`` row: the benchmark never sets the global provider. ``docs/metrics.md`` has them.
"""

from __future__ import annotations

from src.benchmarks.runner import Contender
from src.benchmarks.workload import TTL_SECONDS, Workload, each_key
from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.metrics import instrument_cache
from src.infrastructure.cache.metrics.otel import api_available, records

MEMORY_CASE = "metrics: memory get"
REDIS_CASE = "metrics: redis get (sync)"
#: What each role of these cases stands for (the legend of the ratios, in ``ratios.ROLES``).
METRICS_ROLES = {
    "plain": "the cache with no metrics at all (as without opentelemetry-api)",
    "no-sdk": "the cache as the container hands it out with opentelemetry-api and no SDK",
    "api-wrap": "the timing wrapper forced on, over the API's instruments with no SDK (not done)",
    "sdk": "the timing wrapper recording into an OpenTelemetry SDK (in-memory reader)",
}


def metrics_contenders(
    case: str, cache: CacheProviderBase, workload: Workload, notes: list[str], *, scale: int = 1
) -> list[Contender]:
    """The contenders of ``case`` over ``cache`` (filled with the workload's keys here)."""
    for key in workload.keys:
        cache.set(key, workload.value, TTL_SECONDS)
    variants: list[tuple[str, str, CacheProviderBase]] = [
        ("plain", "no metrics", cache),
        ("no-sdk", "instrument_cache, no SDK configured", instrument_cache(cache, f"bench {case}")),
    ]
    if api_available():
        variants.append(("api-wrap", "timing wrapper, API only (no SDK)", _api_only(cache)))
        sdk = _with_sdk(cache)
        if sdk is None:
            notes.append(f"{case}: no 'sdk' row (pip install opentelemetry-sdk)")
        else:
            variants.append(("sdk", "timing wrapper, SDK recording", sdk))
    else:
        notes.append(f"{case}: only 'plain' and 'no-sdk' rows (pip install 'agent-cache[metrics]')")
    return [
        Contender(case, name, role, each_key(workload.keys, provider.get), scale)
        for role, name, provider in variants
    ]


def _api_only(cache: CacheProviderBase) -> CacheProviderBase:
    """The timing wrapper over the API's own instruments: the global proxy's while no SDK is set
    (as here, in the CLI), which record nothing."""
    from opentelemetry import metrics  # noqa: PLC0415 - optional: checked by the caller

    from src.infrastructure.cache.metrics.names import DURATION  # noqa: PLC0415
    from src.infrastructure.cache.metrics.timed import TimedCacheProvider  # noqa: PLC0415

    provider = metrics.get_meter_provider()
    if records(provider):  # an SDK set in this process: the API's no-op stands in for "none"
        provider = metrics.NoOpMeterProvider()
    histogram = provider.get_meter("agent-cache-bench").create_histogram(DURATION.name, DURATION.unit)
    return TimedCacheProvider(cache, "bench api-only", histogram)


def _with_sdk(cache: CacheProviderBase) -> CacheProviderBase | None:
    try:
        from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415 - a dev/test dependency
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: PLC0415
    except ImportError:
        return None
    from src.infrastructure.cache.metrics.instruments import CacheMetrics  # noqa: PLC0415

    metrics = CacheMetrics(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    return metrics.instrument(cache, "bench sdk")
