"""redis-py's own OpenTelemetry metrics (redis-py 7+): command durations, connections, resilience.

redis-py records them for every client in the process once ``redis.observability`` is initialised;
they are off by default. agent-cache initialises it when it builds a Redis cache and an SDK records,
unless the application initialised it first: then the application's choice stands (initialise it
with ``OTelConfig(enabled_telemetry=[])`` to keep redis-py's metrics off).
"""

from __future__ import annotations

import logging
import threading

from src.infrastructure.cache.metrics.otel import records

logger = logging.getLogger(__name__)

#: The groups turned on: command durations, connection counts and create times, redis-py's
#: errors and retries, and its client-side cache (used by a near cache built on it).
GROUPS = ("COMMAND", "CONNECTION_BASIC", "RESILIENCY", "CSC")

_lock = threading.Lock()


def enable_redis_py_metrics(meter_provider: object) -> bool:
    """Turn redis-py's metrics on if ``meter_provider`` (the global one: redis-py records through
    it) records and nobody has set them up. True if this call turned them on."""
    if not records(meter_provider):
        return False
    try:  # here, not at the top: redis-py before 7 has no metrics of its own
        from redis.observability import MetricGroup, OTelConfig, get_observability_instance  # noqa: PLC0415
    except ImportError:
        return False
    with _lock:
        instance = get_observability_instance()
        if instance.get_provider_manager() is not None:
            return False
        instance.init(OTelConfig(metric_groups=[MetricGroup[group] for group in GROUPS]))
    logger.info("redis-py metrics turned on: %s", ", ".join(GROUPS))
    return True
