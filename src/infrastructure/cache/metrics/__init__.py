"""agent-cache's OpenTelemetry metrics: one set of names for every cache (see ``docs/metrics.md``).

Through the OpenTelemetry *API* only, an optional dependency (``pip install 'agent-cache[metrics]'``);
the application chooses and configures the SDK and its exporters. What a cache costs per call:

* without ``opentelemetry-api``: nothing of it is imported, nothing is wrapped or exported;
* with the API but no SDK configured when the cache is built: the cache is not wrapped (its calls
  cost exactly what they did); its counters are registered for observation, so an SDK set later
  exports them (they are read from ``get_stats()`` at collection, never on a call);
* with an SDK configured when the cache is built: besides, each call's duration is recorded.

Configure the SDK at start-up, before the container builds its caches, as OpenTelemetry advises.

:func:`instrument_cache` is what the container applies to every cache it builds.
``instruments.CacheMetrics`` on an explicit ``MeterProvider`` serves tests and benchmarks that must
not touch the process's global one. The LLM-response cache exports its counters through
:func:`observe` with ``kind="llm"``, under the name of the cache it stores in.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.metrics.names import Source
from src.infrastructure.cache.metrics.otel import api_available

if TYPE_CHECKING:
    from src.infrastructure.cache.metrics.instruments import CacheMetrics

_default: CacheMetrics | None = None
_lock = threading.Lock()


def default_metrics() -> CacheMetrics | None:
    """The process's instruments, on the global ``MeterProvider``; None without the OpenTelemetry API."""
    global _default  # noqa: PLW0603 - one set of instruments per process, made on first use
    if not api_available():
        return None
    with _lock:
        if _default is None:
            # Here, not at the top: this module imports the OpenTelemetry API, which may be absent.
            from src.infrastructure.cache.metrics.instruments import CacheMetrics  # noqa: PLC0415

            _default = CacheMetrics()
        return _default


def instrument_cache(cache: CacheProviderBase, name: str) -> CacheProviderBase:
    """``cache`` as the container hands it out under ``name``: observed, and timed if an SDK records;
    ``cache`` itself when nothing would record its calls."""
    metrics = default_metrics()
    return cache if metrics is None else metrics.instrument(cache, name)


def observe(name: str, source: Any, kind: Source = "cache") -> None:
    """Export the counters of ``source.get_stats()`` under ``cache.name=name`` (held weakly) to the
    metrics of ``kind`` (``"llm"``: the LLM-response cache); a no-op without the OpenTelemetry API."""
    metrics = default_metrics()
    if metrics is not None:
        metrics.observe(name, source, kind)


def observed_names() -> list[str]:
    """The names of the caches the process's instruments observe now."""
    metrics = default_metrics()
    return [] if metrics is None else metrics.observed_names()


__all__ = ["default_metrics", "instrument_cache", "observe", "observed_names"]
