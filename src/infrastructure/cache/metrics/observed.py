"""The observed metrics: counters read from each cache's ``get_stats()`` when a reader collects.

Nothing here runs on a cache call. When a metric reader collects (a Prometheus scrape, a periodic
export), each observable instrument's callback reads ``get_stats()`` of every cache registered under
a name and turns it into observations (see :mod:`.names`). A source is of a kind (:data:`.names.Source`):
a cache, or the LLM-response cache over one; each metric reads the sources of its kind, so a cache and
the LLM cache over it are observed under one ``cache.name`` side by side.

Caches are held weakly: registering one never keeps it alive, and one that is gone stops being
observed. If two live sources of one kind are registered under one name (two containers in one
process), the one registered last is observed. One collection calls every instrument's callback in turn; each
cache's ``get_stats()`` is read once for all of them (a snapshot is reused for ``reuse_for``
seconds), since on a Redis cluster or sentinel cache it asks the servers for their topology.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from src.infrastructure.cache.metrics.attributes import CACHE_NAME
from src.infrastructure.cache.metrics.names import OBSERVED, MetricSpec, Source

logger = logging.getLogger(__name__)

#: Seconds a snapshot of ``get_stats()`` is reused: long enough to span one collection's callbacks.
SNAPSHOT_REUSE = 0.05


class StatsSource(Protocol):
    """Anything observed: a cache, or another component with ``get_stats()`` (the LLM cache)."""

    def get_stats(self) -> dict[str, Any]: ...


class ObservedCaches:
    """The observable instruments of :data:`.names.OBSERVED` on ``meter``, and the caches they read."""

    def __init__(
        self, meter: Meter, *, reuse_for: float = SNAPSHOT_REUSE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._sources: dict[tuple[str, Source], list[weakref.ref[StatsSource]]] = {}
        self._snapshots: dict[tuple[str, Source], tuple[float, Mapping[str, Any]]] = {}
        self._reuse_for = reuse_for
        self._clock = clock
        self.instruments = [self._create(meter, spec) for spec in OBSERVED]

    def add(self, name: str, source: StatsSource, kind: Source = "cache") -> None:
        """Observe ``source`` under ``name`` from now on (in place of another of its kind there)."""
        with self._lock:
            alive = [ref for ref in self._sources.get((name, kind), []) if ref() not in (None, source)]
            self._sources[name, kind] = [*alive, weakref.ref(source)]
            self._snapshots.pop((name, kind), None)

    def remove(self, name: str, source: StatsSource, kind: Source = "cache") -> None:
        """Stop observing ``source`` (closed); another live one of its kind under ``name`` is
        observed again."""
        with self._lock:
            alive = [ref for ref in self._sources.get((name, kind), []) if ref() not in (None, source)]
            if alive:
                self._sources[name, kind] = alive
            else:
                self._sources.pop((name, kind), None)
            self._snapshots.pop((name, kind), None)

    def names(self) -> list[str]:
        """The names observed now (a live source registered under each), each once."""
        return list(dict.fromkeys(name for (name, _kind), _ in self._current()))

    # ---------------------------------------------------------------- collection

    def _create(self, meter: Meter, spec: MetricSpec) -> Any:
        create = {
            "counter": meter.create_observable_counter,
            "updowncounter": meter.create_observable_up_down_counter,
            "gauge": meter.create_observable_gauge,
        }[spec.instrument]
        return create(spec.name, [self._callback(spec)], spec.unit, spec.description)

    def _callback(self, spec: MetricSpec) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            return list(self._observations(spec))

        return observe

    def _observations(self, spec: MetricSpec) -> Iterator[Observation]:
        assert spec.read is not None
        for name, stats in self._stats(spec.source):
            try:
                readings = list(spec.read(stats))
            except (KeyError, TypeError, ValueError) as exc:  # a section not shaped as documented
                logger.warning("metrics: %s of cache %r not read from get_stats(): %r", spec.name, name, exc)
                continue
            for value, attributes in readings:
                yield Observation(value, {CACHE_NAME: name, **attributes})

    def _stats(self, kind: Source) -> list[tuple[str, Mapping[str, Any]]]:
        """``(name, get_stats())`` of every source of ``kind`` observed, from a recent snapshot when
        there is one."""
        found = []
        for (name, of_kind), source in self._current():
            if of_kind != kind:
                continue
            now = self._clock()
            with self._lock:
                taken = self._snapshots.get((name, kind))
            if taken is not None and now - taken[0] < self._reuse_for:
                found.append((name, taken[1]))
                continue
            try:
                stats = source.get_stats()
            except Exception as exc:  # one broken cache must not blank every other cache's metrics
                logger.warning("metrics: get_stats() of cache %r failed: %s", name, exc)
                continue
            with self._lock:
                self._snapshots[name, kind] = (self._clock(), stats)
            found.append((name, stats))
        return found

    def _current(self) -> list[tuple[tuple[str, Source], StatsSource]]:
        """The source observed under each name and kind: the last registered that is still alive."""
        with self._lock:
            entries = [(key, [ref() for ref in refs]) for key, refs in self._sources.items()]
        current = []
        for key, sources in entries:
            alive = [source for source in sources if source is not None]
            if alive:
                current.append((key, alive[-1]))
        return current
