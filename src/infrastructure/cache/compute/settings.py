"""How compute-once behaves for one cache, and per call: lease time, wait bound, stale serving, XFetch."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ComputeSettings:
    """Settings of ``get_or_set``: per cache in YAML (``compute:``), overridable per call by keyword."""

    #: Seconds a computing caller's lease lasts unless renewed (it is, every third of this, while the
    #: computation runs). A holder killed mid-computation delays the other callers at most this long.
    lease_ttl: float = 10.0
    #: Longest a caller waits for someone else's computation of the same key (in this process or in
    #: another); then it computes itself rather than hang.
    wait_timeout: float = 60.0
    #: Seconds an entry is kept past its TTL so that it can be served stale (0: not kept). Needed by
    #: ``stale_while_revalidate`` and ``stale_if_error``.
    stale_ttl: float = 0.0
    #: During ``stale_ttl``, serve the stale value while exactly one caller refreshes it.
    stale_while_revalidate: bool = False
    #: During ``stale_ttl``, serve the stale value when the refresh fails (logged and counted).
    stale_if_error: bool = False
    #: XFetch: refresh early with a probability that grows near expiry, scaled by the measured
    #: compute time; 1.0 is the usual setting, 0 turns it off.
    beta: float = 0.0

    def __post_init__(self) -> None:
        for name in ("lease_ttl", "wait_timeout"):
            _check_number(name, getattr(self, name), minimum=0.001)
        for name in ("stale_ttl", "beta"):
            _check_number(name, getattr(self, name), minimum=0.0)
        for name in ("stale_while_revalidate", "stale_if_error"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")

    @property
    def keeps_entry_metadata(self) -> bool:
        """True when entries carry their freshness and compute time (stale serving or XFetch)."""
        return bool(self.stale_ttl or self.beta)

    def with_options(self, options: Mapping[str, Any]) -> ComputeSettings:
        """These settings with per-call ``options`` applied; an unknown option is a ``TypeError``."""
        if not options:
            return self
        unknown = set(options) - _FIELDS
        if unknown:
            raise TypeError(
                f"get_or_set got unknown option(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(_FIELDS))}"
            )
        return dataclasses.replace(self, **options)


_FIELDS = frozenset(field.name for field in dataclasses.fields(ComputeSettings))


def _check_number(name: str, value: Any, minimum: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
