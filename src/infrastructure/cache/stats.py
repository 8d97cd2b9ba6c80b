"""Thread-safe counters behind every provider's ``get_stats()``."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class CacheStats:
    """Exact counters, safe to update from many threads and tasks at once.

    Each ``record_*`` call takes ``lock`` (~0.1 µs uncontended): ``+=`` on an attribute is not atomic
    across threads. A provider that already holds a lock of its own on the hot path can pass it in
    and increment the fields directly inside its critical section, paying for one lock, not two.
    """

    __slots__ = (
        "_errors_by_kind",
        "_lock",
        "deletes",
        "errors",
        "evictions",
        "expirations",
        "hits",
        "misses",
        "sets",
    )

    def __init__(self, lock: threading.Lock | None = None) -> None:
        self._lock = lock or threading.Lock()
        self.hits = 0
        self.misses = 0
        self.sets = 0
        self.deletes = 0
        self.errors = 0
        self.evictions = 0
        self.expirations = 0
        self._errors_by_kind: Counter[str] = Counter()

    def record_lookups(self, hits: int, misses: int) -> None:
        with self._lock:
            self.hits += hits
            self.misses += misses

    def record_hit(self) -> None:
        """One hit: the single-key hot path's cheaper twin of ``record_lookups(1, 0)``."""
        with self._lock:
            self.hits += 1

    def record_miss(self) -> None:
        """One miss: the twin of :meth:`record_hit`."""
        with self._lock:
            self.misses += 1

    def record_sets(self, count: int = 1) -> None:
        with self._lock:
            self.sets += count

    def record_deletes(self, count: int) -> None:
        with self._lock:
            self.deletes += count

    def record_error(self, kind: str) -> None:
        with self._lock:
            self.errors += 1
            self._errors_by_kind[kind] += 1

    def record_evictions(self, evictions: int = 0, expirations: int = 0) -> None:
        with self._lock:
            self.evictions += evictions
            self.expirations += expirations

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of every counter, with ``hit_rate`` and ``errors_by_kind``."""
        with self._lock:
            lookups = self.hits + self.misses
            return {
                "hits": self.hits,
                "misses": self.misses,
                "hit_rate": self.hits / lookups if lookups else 0.0,
                "sets": self.sets,
                "deletes": self.deletes,
                "errors": self.errors,
                "errors_by_kind": dict(self._errors_by_kind),
                "evictions": self.evictions,
                "expirations": self.expirations,
            }
