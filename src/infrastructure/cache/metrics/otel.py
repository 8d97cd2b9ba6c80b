"""Whether the optional OpenTelemetry API is installed, and whether a meter provider records.

``opentelemetry-api`` is an optional dependency (``pip install 'agent-cache[metrics]'``). Nothing here
imports it at import time. Without an SDK, the global meter provider is the API's own stand-in (a
proxy that forwards to an SDK set later, else a no-op): instruments on it record nothing.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from typing import Any

#: The instrumentation scope (meter name) of every agent-cache instrument.
METER_NAME = "agent-cache"


@cache
def api_available() -> bool:
    """True if ``opentelemetry-api`` can be imported (asked once per process)."""
    try:
        import opentelemetry.metrics  # noqa: F401, PLC0415 - the question is whether it imports
    except ImportError:
        return False
    return True


def version() -> str:
    """agent-cache's installed version, for the meter's instrumentation scope ("" if unknown)."""
    try:
        return installed_version("agent-cache")
    except PackageNotFoundError:
        return ""


def is_api_stand_in(obj: Any) -> bool:
    """True for the API package's own proxy or no-op meter providers and meters.

    They live in ``opentelemetry.metrics`` (the API); every real implementation - the SDK's, or a
    vendor's - lives elsewhere. Asked by module rather than by class: the proxy classes are private.
    """
    return type(obj).__module__.startswith("opentelemetry.metrics")


def records(provider: Any) -> bool:
    """Whether ``provider`` (a ``MeterProvider``) records what its instruments measure: an SDK (or
    another implementation) that is not disabled - ``OTEL_SDK_DISABLED`` makes the SDK hand out
    the API's no-op meters."""
    if provider is None or is_api_stand_in(provider):
        return False
    return not is_api_stand_in(provider.get_meter(METER_NAME))
