"""agent-cache's instruments on one ``MeterProvider``, and which caches they measure and observe.

Imports the OpenTelemetry API: the package ``__init__`` imports this module only when it is installed.
"""

from __future__ import annotations

import threading
from functools import partial

from opentelemetry import metrics
from opentelemetry.metrics import Histogram, Meter, MeterProvider

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.metrics.names import DURATION, DURATION_BUCKETS, Source
from src.infrastructure.cache.metrics.observed import SNAPSHOT_REUSE, ObservedCaches, StatsSource
from src.infrastructure.cache.metrics.otel import METER_NAME, records, version
from src.infrastructure.cache.metrics.timed import TimedCacheProvider


class CacheMetrics:
    """agent-cache's instruments on ``meter_provider`` (None: the process's global one).

    The observed instruments and the duration histogram are created once, on first use. On the
    global provider they follow an SDK set after them: the API's proxy forwards to it.
    """

    def __init__(
        self, meter_provider: MeterProvider | None = None, *, snapshot_reuse: float = SNAPSHOT_REUSE
    ) -> None:
        self._meter_provider = meter_provider
        self._snapshot_reuse = snapshot_reuse
        self._lock = threading.Lock()
        self._made: tuple[ObservedCaches, Histogram] | None = None

    def meter_provider(self) -> MeterProvider:
        """The provider the instruments report to: the explicit one, or the global one as it is now
        (the API's proxy until an SDK is set)."""
        return self._meter_provider if self._meter_provider is not None else metrics.get_meter_provider()

    def records(self) -> bool:
        """Whether an SDK records now, through :meth:`meter_provider`."""
        return records(self.meter_provider())

    def instrument(self, cache: CacheProviderBase, name: str) -> CacheProviderBase:
        """``cache`` observed under ``name``, and wrapped to time its calls if an SDK records now;
        otherwise ``cache`` itself, unchanged."""
        observed, histogram = self._instruments()
        if not self.records():
            observed.add(name, cache)
            return cache
        timed = TimedCacheProvider(cache, name, histogram, on_close=partial(observed.remove, name))
        observed.add(name, timed)
        return timed

    def observe(self, name: str, source: StatsSource, kind: Source = "cache") -> None:
        """Export the counters of ``source.get_stats()`` under ``cache.name=name`` (held weakly):
        the metrics of ``kind`` read it (``"llm"``: the LLM-response cache's)."""
        self._instruments()[0].add(name, source, kind)

    def observed_names(self) -> list[str]:
        """The names of the caches observed now."""
        return [] if self._made is None else self._made[0].names()

    def _instruments(self) -> tuple[ObservedCaches, Histogram]:
        with self._lock:
            if self._made is None:
                meter = self._meter()
                histogram = meter.create_histogram(
                    DURATION.name,
                    DURATION.unit,
                    DURATION.description,
                    explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
                )
                self._made = ObservedCaches(meter, reuse_for=self._snapshot_reuse), histogram
            return self._made

    def _meter(self) -> Meter:
        if self._meter_provider is None:
            return metrics.get_meter(METER_NAME, version())
        return self._meter_provider.get_meter(METER_NAME, version())
