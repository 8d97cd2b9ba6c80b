"""The near cache's invalidation listener: one daemon thread per near cache, for sync and async callers.

The thread keeps a tracking connection (``providers/redis/tracking``) open and feeds what it reads
to the store: an invalidation drops keys, a flush of the server's database empties the store. It
turns serving on only once tracking is established, and off - emptying the store - the moment the
connection fails, or when its health is in doubt: it sends a PING every ``ping_interval`` seconds,
and a PING unanswered for ``ping_interval`` more counts as a lost connection (a frozen or
partitioned server whose socket stays open); with Sentinel, each PING first checks that the
sentinels still name the connection's server as master. Then it reconnects, waiting 50 ms, then
twice as long each time, up to 1 s, between attempts; serving resumes, from empty, once tracking is
on again. No event loop is involved: the store is shared by threads and loops alike.

A listener starts on first use (:meth:`InvalidationListener.ensure_running`: building a cache dials
nothing) and is stopped by the cache's ``close()``; a later call starts a new one. Each run is a
*session* of the store: a stopped run's late word cannot turn serving back on. A child process
forked from one that listens starts with nothing served and listens anew on first use.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Protocol

from src.infrastructure.cache.near.store import NearStore
from src.infrastructure.cache.providers.redis.tracking import Invalidation, Pong, TrackingRefused

logger = logging.getLogger(__name__)

#: Reconnection waits: first, and longest (doubling in between).
FIRST_WAIT, LONGEST_WAIT = 0.05, 1.0


class Connection(Protocol):
    """What the listener needs of a tracking connection (``tracking.TrackingConnection``)."""

    def open(self) -> None: ...
    def read(self, timeout: float) -> Invalidation | Pong | None: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...
    def interrupt(self) -> None: ...


class TrackingInDoubt(Exception):
    """The server did not answer a PING in time: invalidations may be going missing."""


class InvalidationListener:
    """Keeps ``store`` coherent through connections made by ``connect`` (see the module)."""

    def __init__(
        self,
        store: NearStore,
        connect: Callable[[], Connection],
        *,
        ping_interval: float,
        label: str,
    ) -> None:
        """``label`` names the cache in logs and in the thread's name."""
        self._store = store
        self._connect = connect
        self._ping_interval = ping_interval
        self._label = label
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._current: Connection | None = None
        _LISTENERS.add(self)

    def ensure_running(self) -> None:
        """Start listening unless a thread already is (cheap when one is)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = stop = threading.Event()
            session = self._store.new_session()
            self._thread = threading.Thread(
                target=self._run, args=(session, stop), name=f"near-cache {self._label}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop listening now (the thread ends on its own, soon): nothing is served until a later
        :meth:`ensure_running`."""
        with self._lock:
            self._stop.set()
            self._thread = None
            self._store.new_session()
            current, self._current = self._current, None
        if current is not None:
            current.interrupt()

    # ---------------------------------------------------------------- the thread

    def _run(self, session: int, stop: threading.Event) -> None:
        connection = self._adopt(stop)
        if connection is None:
            return
        wait, served, warned = FIRST_WAIT, False, False
        try:
            while not stop.is_set():
                try:
                    connection.open()
                    if not self._store.tracking_on(session):
                        return
                    if served:
                        logger.warning(
                            "near cache %s: tracking again; serving from the near cache", self._label
                        )
                    wait, served = FIRST_WAIT, True
                    self._listen(connection, stop)
                except TrackingRefused as exc:  # a setting to change: said once, at WARNING
                    if not warned:
                        logger.warning("near cache %s: off, reads go to Redis: %s", self._label, exc)
                    warned = True
                except Exception as exc:  # any failure is a gap; the loop itself must never die
                    self._lost(exc, stop, served)
                finally:
                    self._store.tracking_lost(session)
                    connection.close()
                stop.wait(wait)
                wait = min(wait * 2, LONGEST_WAIT)
        finally:
            self._store.tracking_lost(session)

    def _adopt(self, stop: threading.Event) -> Connection | None:
        """The run's connection (building it dials nothing), where :meth:`stop` can interrupt it;
        None if the run was stopped meanwhile, or if it cannot even be built - then the thread
        stays parked until stopped, so that reads do not start one thread each."""
        try:
            connection = self._connect()
        except Exception as exc:
            logger.warning(
                "near cache %s: off, reads go to Redis: %s: %s", self._label, type(exc).__name__, exc
            )
            stop.wait()
            return None
        with self._lock:
            if stop.is_set():
                return None
            self._current = connection
        return connection

    def _listen(self, connection: Connection, stop: threading.Event) -> None:
        """Read until the connection fails or is in doubt (raises), or ``stop`` is set.

        A PING goes out every ``ping_interval`` whatever the traffic, and must be answered within
        as long again: a server that stopped answering, or (Sentinel) stopped being the master,
        is noticed even while invalidations of other keys still arrive."""
        interval = self._ping_interval
        next_ping, pong_due = time.monotonic() + interval, None
        while not stop.is_set():
            now = time.monotonic()
            if pong_due is not None and now >= pong_due:
                raise TrackingInDoubt(f"no answer to PING within {interval:g} s")
            if pong_due is None and now >= next_ping:
                connection.ping()
                pong_due = now + interval
            message = connection.read(max(0.0, (next_ping if pong_due is None else pong_due) - now))
            if isinstance(message, Invalidation):
                self._store.invalidate(message.names)
            elif message is not None:
                next_ping, pong_due = time.monotonic() + interval, None

    def _lost(self, exc: Exception, stop: threading.Event, served: bool) -> None:
        if stop.is_set():
            return
        if self._store.serving:
            logger.warning(
                "near cache %s: invalidations may be lost (%s: %s); emptied, reads go to Redis until "
                "tracking is back",
                self._label,
                type(exc).__name__,
                exc,
            )
        else:
            logger.debug("near cache %s: tracking not established: %s", self._label, exc)

    def _after_fork(self) -> None:
        """In a forked child: no thread, no connection (the parent's stays the parent's)."""
        self._lock = threading.Lock()
        self._thread = None
        self._current = None
        self._store.after_fork()


_LISTENERS: weakref.WeakSet[InvalidationListener] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for listener in list(_LISTENERS):
        listener._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
