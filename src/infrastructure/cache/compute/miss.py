"""One caller's request to compute-once, and the rules that decide when an entry is refreshed.

A :class:`Miss` carries what to compute, how to store the result (plain, or as a timed entry that
keeps its freshness and compute time, for stale serving and XFetch), and until when the caller
waits for someone else's computation. :func:`refresh_early` is XFetch (Vattani, Chierichetti and
Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015): a fresh entry is
refreshed ahead of its expiry with a probability that grows as expiry nears, scaled by how long
the value took to compute and by ``beta``, so that one caller - rarely several - refreshes a hot
entry before the crowd finds it expired.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from src.infrastructure.cache.codec import StoredEntry, Timed
from src.infrastructure.cache.compute.settings import ComputeSettings


class TimedOut:
    """The wait for another process's computation reached ``wait_timeout``."""


TIMED_OUT = TimedOut()


@dataclass(slots=True)
class Miss:
    """One caller's miss (or refresh): the key, its in-process flight, what and how to store."""

    key: str
    flight: tuple[tuple[str, ...], str]  # (namespace path, key): the flight it joins
    compute: Callable[[], Any]
    settings: ComputeSettings
    deadline: float
    #: Seconds the value is fresh: the caller's ``ttl``, or the cache's default (0: never expires).
    fresh_for: float
    #: The TTL it is written with: ``fresh_for`` plus the stale window (0: never expires).
    store_ttl: float

    @classmethod
    def of(
        cls,
        scope: tuple[str, ...],
        key: str,
        *,
        compute: Callable[[], Any],
        ttl: float | None,
        settings: ComputeSettings,
        default_ttl: float,
    ) -> Miss:
        if not callable(compute):
            raise TypeError(f"compute must be a zero-argument callable, got {type(compute).__name__}")
        fresh_for = default_ttl if ttl is None else ttl
        store_ttl = fresh_for + settings.stale_ttl if fresh_for else 0
        deadline = time.monotonic() + settings.wait_timeout
        return cls(key, (scope, key), compute, settings, deadline, fresh_for, store_ttl)

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()

    def stored(self, value: Any, compute_seconds: float) -> Any:
        """What is written for ``value``: itself, or a timed entry when the settings need one."""
        if self.settings.keeps_entry_metadata:
            return Timed(value, self.fresh_for, compute_seconds)
        return value


def refresh_early(entry: StoredEntry, beta: float, draw: Callable[[], float] = random.random) -> bool:
    """XFetch: whether to refresh ``entry`` now, before it expires.

    Refresh when ``compute_seconds * beta * -ln(u)`` (u uniform in (0, 1]) reaches the freshness
    left: never for an entry without expiry, or without a measured compute time.
    """
    if not beta or not entry.compute_seconds or math.isinf(entry.fresh_for):
        return False
    draw_ = 1.0 - draw()  # in (0, 1]: log(0) is undefined
    return entry.compute_seconds * beta * -math.log(draw_) >= entry.fresh_for
