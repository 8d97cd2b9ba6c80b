"""The counters of compute-once, exact under concurrent threads and tasks."""

from __future__ import annotations

import threading

#: Every counter, in the order ``get_stats()['compute']`` shows them.
COUNTERS = ("computes", "compute_errors", "lock_waits", "lock_timeouts", "stale_served", "early_refreshes")


class ComputeStats:
    """``computes``: computations that returned a value; ``compute_errors``: computations that
    raised (the two add up to every computation started); ``lock_waits``: callers
    that waited for another's computation (in this process or another); ``lock_timeouts``: waits
    that reached ``wait_timeout``; ``stale_served``: stale values served (while revalidating or
    after a failed refresh); ``early_refreshes``: refreshes started before expiry (XFetch)."""

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTERS, 0)

    def count(self, **increments: int) -> None:
        with self._lock:
            for name, increment in increments.items():
                self._counts[name] += increment

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
