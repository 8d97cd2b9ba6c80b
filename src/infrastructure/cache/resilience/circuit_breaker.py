"""A circuit breaker: stop paying a timeout on every call while a backend is down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class CircuitBreaker:
    """Closed → open after ``failure_threshold`` consecutive failures → one probe per ``open_interval``.

    ``closed`` is a plain attribute so the hot path reads it without a lock. While open, callers do
    not try the backend; once ``open_interval`` has passed, exactly one caller wins
    :meth:`try_begin_probe` (half-open) and reports the outcome with :meth:`end_probe`: success closes
    the circuit, failure keeps it open for another interval. ``last_opened_at`` and
    ``last_closed_at`` are readings of ``timer`` (``time.monotonic`` by default), or None.
    """

    def __init__(
        self, failure_threshold: int, open_interval: float, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = failure_threshold
        self.open_interval = open_interval
        self.closed = True
        self.times_opened = 0
        self.last_opened_at: float | None = None
        self.last_closed_at: float | None = None
        self._timer = timer
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open`` (a probe is under way)."""
        if self.closed:
            return "closed"
        return "half_open" if self._probing else "open"

    def record_success(self) -> None:
        """A call to the backend succeeded: the consecutive-failure count starts again."""
        if self._failures:  # a racy reset is harmless: it only delays opening by one failure
            self._failures = 0

    def record_failure(self) -> bool:
        """A call failed. Returns True if this failure opened the circuit."""
        with self._lock:
            self._failures += 1
            if self.closed and self._failures >= self.failure_threshold:
                self._open()
                return True
            return False

    def trip(self) -> bool:
        """Open the circuit now, whatever the count. Returns True if it was closed."""
        with self._lock:
            self._failures = max(self._failures, self.failure_threshold)
            if not self.closed:
                return False
            self._open()
            return True

    def try_begin_probe(self) -> bool:
        """True for the one caller that should probe the backend now; False for everyone else."""
        with self._lock:
            if self.closed or self._probing or self._timer() - self._opened_at < self.open_interval:
                return False
            self._probing = True
            return True

    def end_probe(self, recovered: bool) -> None:
        """Close the circuit after a successful probe, or keep it open for another interval."""
        with self._lock:
            self._probing = False
            if recovered:
                self.closed = True
                self._failures = 0
                self.last_closed_at = self._timer()
            else:
                self._opened_at = self._timer()

    def snapshot(self) -> dict[str, Any]:
        """State for stats and health output."""
        with self._lock:
            retry_in = (
                0.0 if self.closed else max(0.0, self.open_interval - (self._timer() - self._opened_at))
            )
            return {
                "state": self.state,
                "consecutive_failures": self._failures,
                "times_opened": self.times_opened,
                "retry_in_seconds": round(retry_in, 3),
                "failure_threshold": self.failure_threshold,
                "open_interval": self.open_interval,
                "last_opened_at": self.last_opened_at,
                "last_closed_at": self.last_closed_at,
            }

    def _open(self) -> None:
        """Open the circuit now. Call with ``_lock`` held."""
        self.closed = False
        self._opened_at = self.last_opened_at = self._timer()
        self.times_opened += 1
