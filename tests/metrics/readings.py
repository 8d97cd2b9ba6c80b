"""Reading what an in-memory OpenTelemetry reader collected, as plain data tests can compare."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint

from src.infrastructure.cache.metrics.instruments import CacheMetrics

#: One collection: metric name -> {frozenset of attribute items: value (a count for histograms)}.
Collected = dict[str, dict[frozenset[tuple[str, Any]], float]]


def private_metrics() -> tuple[CacheMetrics, InMemoryMetricReader]:
    """agent-cache's metrics on a MeterProvider of the test's own (never the process's global one),
    reading ``get_stats()`` afresh at every collection."""
    reader = InMemoryMetricReader()
    return CacheMetrics(MeterProvider(metric_readers=[reader]), snapshot_reuse=0), reader


def collect(reader: InMemoryMetricReader) -> Collected:
    """Collect now; a histogram's value is its count of measurements."""
    collected: Collected = {}
    data = reader.get_metrics_data()
    for resource in [] if data is None else data.resource_metrics:  # None: nothing to report
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points = collected.setdefault(metric.name, {})
                for point in metric.data.data_points:
                    assert isinstance(point, HistogramDataPoint | NumberDataPoint), point
                    amount = point.count if isinstance(point, HistogramDataPoint) else point.value
                    points[frozenset((point.attributes or {}).items())] = amount
    return collected


def value(collected: Collected, name: str, attributes: Mapping[str, str]) -> float:
    """The value of ``name`` whose attributes are exactly ``attributes``."""
    wanted = frozenset(attributes.items())
    points = collected.get(name, {})
    assert wanted in points, f"{name}{dict(wanted)} not collected; have {[dict(p) for p in points]}"
    return points[wanted]


def by_attribute(collected: Collected, name: str, attribute: str) -> Mapping[str, float]:
    """``name``'s values keyed by the value of one attribute (summed over the others)."""
    found: dict[str, float] = {}
    for attributes, amount in collected.get(name, {}).items():
        key = dict(attributes).get(attribute)
        if key is not None:
            found[key] = found.get(key, 0) + amount
    return found
