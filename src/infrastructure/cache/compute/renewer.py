"""Keeps the leases of running computations alive: one daemon thread per cache, started on first use.

A lease is short (``lease_ttl``) so that a holder killed mid-computation delays the others by at most
that long; a computation that runs longer keeps its lease by renewing it every third of
``lease_ttl``. One thread renews for every sync and async computation of the cache, so a miss costs
no thread of its own. A renewal that fails (the lease was replaced by a ``set``/``delete``, or the
backend is away) is logged and dropped: the computation goes on, and its ``store`` will report that
the lease is gone.
"""

from __future__ import annotations

import logging
import threading
import time

from src.infrastructure.cache.compute.leases import Leases
from src.interfaces.llm.cache import CacheError

logger = logging.getLogger(__name__)

_Held = tuple[Leases, str, str, float]  # leases, key, token, lease seconds


class LeaseRenewer:
    """Renews registered leases until they are removed. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._due: dict[tuple[int, str, str], tuple[_Held, float]] = {}
        self._thread: threading.Thread | None = None

    def add(self, leases: Leases, key: str, token: str, seconds: float) -> None:
        """Renew ``key``'s lease held with ``token`` every ``seconds / 3`` until :meth:`remove`."""
        with self._lock:
            self._due[(id(leases), key, token)] = (
                (leases, key, token, seconds),
                time.monotonic() + seconds / 3,
            )
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="agent-cache-lease-renewer", daemon=True
                )
                self._thread.start()
            self._lock.notify()

    def remove(self, leases: Leases, key: str, token: str) -> None:
        with self._lock:
            self._due.pop((id(leases), key, token), None)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._due:
                    self._lock.wait()
                now = time.monotonic()
                ready = [(ident, held) for ident, (held, due) in self._due.items() if due <= now]
                if not ready:
                    self._lock.wait(min(due for _, due in self._due.values()) - now)
                    continue
                for ident, held in ready:
                    self._due[ident] = (held, now + held[3] / 3)
            for ident, (leases, key, token, seconds) in ready:
                if not self._renew(leases, key, token, seconds):
                    with self._lock:
                        self._due.pop(ident, None)

    @staticmethod
    def _renew(leases: Leases, key: str, token: str, seconds: float) -> bool:
        try:
            if leases.renew(key, token, seconds):
                return True
            logger.info("compute-once: the lease on %r was replaced or expired; not renewing it", key)
        except CacheError as exc:
            logger.info("compute-once: could not renew the lease on %r: %s", key, exc)
        return False
