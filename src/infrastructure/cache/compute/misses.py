"""Resolving a miss: at most one computation per key at a time, across threads, tasks and processes.

The caller joins the key's in-process flight (:mod:`.flights`). Its leader takes the key's lease in
Redis when the provider offers leases (:mod:`.leases`), computes, and stores the value in place of
the lease; everyone else waits - for the flight's signal in this process, or polling the lease with
backoff (10 ms, growing by half, at most 250 ms) for another process - and gets the same value.
Every wait ends at the caller's deadline (``wait_timeout``), after which it computes itself.

A failing computation raises to its caller and to the callers sharing its flight; nothing is
stored; the lease is released. Cancelling (or interrupting) the leader releases its lease and
abandons the flight: one waiter takes over. Without leases (memory, or a cache served by its
fallback during an outage) the in-process flight alone holds.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any, Protocol

from src.infrastructure.cache.codec import StoredEntry
from src.infrastructure.cache.compute.flights import Flight, Flights
from src.infrastructure.cache.compute.leases import MISSING, Leases
from src.infrastructure.cache.compute.miss import TIMED_OUT, Miss
from src.infrastructure.cache.compute.renewer import LeaseRenewer
from src.infrastructure.cache.compute.stats import ComputeStats
from src.interfaces.llm.cache import CacheError, CacheUnavailableError

logger = logging.getLogger(__name__)

#: Polling a lease held by another process: first wait, growth factor, longest wait (seconds).
POLL_FIRST, POLL_GROWTH, POLL_LONGEST = 0.01, 1.5, 0.25


class EntryCache(Protocol):
    """What compute-once reads and writes: values, and entries with their freshness."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, ttl: float | None = None) -> None: ...

    def get_entry(self, key: str) -> StoredEntry | Any: ...

    def exists(self, key: str) -> bool: ...

    async def exists_async(self, key: str) -> bool: ...

    async def get_async(self, key: str, default: Any = None) -> Any: ...

    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None: ...

    async def get_entry_async(self, key: str) -> StoredEntry | Any: ...


class Misses:
    """The misses of one cache (or namespace view): its flights, leases, renewer and counters."""

    def __init__(
        self,
        cache: EntryCache,
        leases: Callable[[], Leases | None],
        flights: Flights,
        renewer: LeaseRenewer,
        stats: ComputeStats,
    ) -> None:
        self._cache = cache
        self._leases = leases
        self.flights = flights
        self._renewer = renewer
        self._stats = stats

    def for_cache(self, cache: EntryCache, leases: Callable[[], Leases | None]) -> Misses:
        """The misses of ``cache`` (a namespace view), sharing these flights, renewer and counters."""
        return Misses(cache, leases, self.flights, self._renewer, self._stats)

    # ---------------------------------------------------------------- sync

    def resolve(self, miss: Miss) -> Any:
        """The value of ``miss.key``: computed here, or shared from another caller's computation."""
        while True:
            flight, leads = self.flights.join(miss.flight)
            if leads:
                return self._lead(miss, flight)
            self._stats.count(lock_waits=1)
            if not flight.wait(miss.seconds_left()):
                self._stats.count(lock_timeouts=1)
                return self.compute_and_set(miss)
            if not flight.abandoned:
                return _outcome(flight)

    def _lead(self, miss: Miss, flight: Flight) -> Any:
        try:
            value = self._resolve(miss)
        except Exception as exc:
            self.flights.land(miss.flight, flight, error=exc)
            raise
        except BaseException:
            self.flights.land(miss.flight, flight, abandoned=True)
            raise
        self.flights.land(miss.flight, flight, value=value)
        return value

    def _resolve(self, miss: Miss) -> Any:
        """The value of the key: found, computed here under the lease, or waited for."""
        leases = self._leases()
        if leases is None:
            # A flight that landed since this caller's miss may have stored the value; exists() asks
            # without counting a second lookup (the caller's miss is counted once, by its get).
            value = self._cache.get(miss.key, MISSING) if self._cache.exists(miss.key) else MISSING
            return self.compute_and_set(miss) if value is MISSING else value
        token = secrets.token_hex(8)
        while True:
            try:
                taken, value = leases.acquire(miss.key, token, miss.settings.lease_ttl)
            except CacheUnavailableError:
                return self.compute_and_set(miss)  # degraded: in-process only
            except BaseException:
                # Interrupted with the request maybe sent: the lease may be ours. Release it (a
                # no-op if it is not), or the others would wait out its whole lease time.
                with suppress(CacheError):
                    leases.release(miss.key, token)
                raise
            if value is not MISSING:
                return value
            if taken:
                return self._compute_holding(leases, token, miss)
            self._stats.count(lock_waits=1)
            value = self._wait_for_holder(leases, miss)
            if value is TIMED_OUT:
                self._stats.count(lock_timeouts=1)
                return self.compute_and_set(miss)
            if value is not MISSING:
                return value
            # The lease is gone without a value (its holder failed or was cancelled): take it.

    def _wait_for_holder(self, leases: Leases, miss: Miss) -> Any:
        """Poll until a value appears (it), the lease goes (MISSING) or the deadline (TIMED_OUT)."""
        pause = POLL_FIRST
        while (left := miss.seconds_left()) > 0:
            time.sleep(min(pause, left))
            pause = min(pause * POLL_GROWTH, POLL_LONGEST)
            try:
                held, value = leases.peek(miss.key)
            except CacheUnavailableError:
                return TIMED_OUT
            if value is not MISSING or not held:
                return value
        return TIMED_OUT

    def _compute_holding(self, leases: Leases, token: str, miss: Miss) -> Any:
        """Compute while holding the key's lease, then store the value in its place."""
        self._renewer.add(leases, miss.key, token, miss.settings.lease_ttl)
        try:
            value, seconds = self.compute(miss.compute)
        except BaseException:
            self._renewer.remove(leases, miss.key, token)
            with suppress(CacheError):
                leases.release(miss.key, token)
            raise
        self._renewer.remove(leases, miss.key, token)
        stored = miss.stored(value, seconds)
        try:
            kept = leases.store(miss.key, token, stored, miss.store_ttl)
        except CacheUnavailableError:
            self._cache.set(miss.key, stored, miss.store_ttl)  # through the failure policy, as any write
            return value
        except BaseException:
            with suppress(CacheError):
                leases.release(miss.key, token)
            raise
        if not kept:
            logger.info("compute-once: %r was set, deleted or re-leased meanwhile; not stored", miss.key)
        return value

    def compute_and_set(self, miss: Miss) -> Any:
        """Compute without a lease and store the value with a plain ``set``."""
        value, seconds = self.compute(miss.compute)
        self._cache.set(miss.key, miss.stored(value, seconds), miss.store_ttl)
        return value

    def compute(self, compute: Callable[[], Any]) -> tuple[Any, float]:
        """``compute()`` and how long it took, counted."""
        started = time.perf_counter()
        try:
            value = compute()
        except BaseException:
            self._stats.count(compute_errors=1)
            raise
        if inspect.isawaitable(value):
            _discard(value)
            self._stats.count(compute_errors=1)
            raise TypeError("get_or_set's compute returned an awaitable; use get_or_set_async for it")
        self._stats.count(computes=1)
        return value, time.perf_counter() - started

    # ---------------------------------------------------------------- async

    async def resolve_async(self, miss: Miss) -> Any:
        """Async twin of :meth:`resolve`."""
        while True:
            flight, leads = self.flights.join(miss.flight)
            if leads:
                return await self._lead_async(miss, flight)
            self._stats.count(lock_waits=1)
            if not await flight.wait_async(miss.seconds_left()):
                self._stats.count(lock_timeouts=1)
                return await self.compute_and_set_async(miss)
            if not flight.abandoned:
                return _outcome(flight)

    async def _lead_async(self, miss: Miss, flight: Flight) -> Any:
        try:
            value = await self._resolve_async(miss)
        except Exception as exc:
            self.flights.land(miss.flight, flight, error=exc)
            raise
        except BaseException:
            self.flights.land(miss.flight, flight, abandoned=True)
            raise
        self.flights.land(miss.flight, flight, value=value)
        return value

    async def _resolve_async(self, miss: Miss) -> Any:
        leases = self._leases()
        if leases is None:
            value = (
                await self._cache.get_async(miss.key, MISSING)
                if await self._cache.exists_async(miss.key)
                else MISSING
            )
            return await self.compute_and_set_async(miss) if value is MISSING else value
        token = secrets.token_hex(8)
        while True:
            try:
                taken, value = await leases.acquire_async(miss.key, token, miss.settings.lease_ttl)
            except CacheUnavailableError:
                return await self.compute_and_set_async(miss)
            except BaseException:
                with suppress(CacheError):
                    await asyncio.shield(leases.release_async(miss.key, token))
                raise
            if value is not MISSING:
                return value
            if taken:
                return await self._compute_holding_async(leases, token, miss)
            self._stats.count(lock_waits=1)
            value = await self._wait_for_holder_async(leases, miss)
            if value is TIMED_OUT:
                self._stats.count(lock_timeouts=1)
                return await self.compute_and_set_async(miss)
            if value is not MISSING:
                return value

    async def _wait_for_holder_async(self, leases: Leases, miss: Miss) -> Any:
        pause = POLL_FIRST
        while (left := miss.seconds_left()) > 0:
            await asyncio.sleep(min(pause, left))
            pause = min(pause * POLL_GROWTH, POLL_LONGEST)
            try:
                held, value = await leases.peek_async(miss.key)
            except CacheUnavailableError:
                return TIMED_OUT
            if value is not MISSING or not held:
                return value
        return TIMED_OUT

    async def _compute_holding_async(self, leases: Leases, token: str, miss: Miss) -> Any:
        self._renewer.add(leases, miss.key, token, miss.settings.lease_ttl)
        try:
            value, seconds = await self.compute_async(miss.compute)
        except BaseException:
            self._renewer.remove(leases, miss.key, token)
            with suppress(CacheError):
                # Shielded: a cancelled caller still gives its lease up, so another takes over now.
                await asyncio.shield(leases.release_async(miss.key, token))
            raise
        self._renewer.remove(leases, miss.key, token)
        stored = miss.stored(value, seconds)
        try:
            kept = await leases.store_async(miss.key, token, stored, miss.store_ttl)
        except CacheUnavailableError:
            await self._cache.set_async(miss.key, stored, miss.store_ttl)
            return value
        except BaseException:
            with suppress(CacheError):
                await asyncio.shield(leases.release_async(miss.key, token))
            raise
        if not kept:
            logger.info("compute-once: %r was set, deleted or re-leased meanwhile; not stored", miss.key)
        return value

    async def compute_and_set_async(self, miss: Miss) -> Any:
        """Async twin of :meth:`compute_and_set`."""
        value, seconds = await self.compute_async(miss.compute)
        await self._cache.set_async(miss.key, miss.stored(value, seconds), miss.store_ttl)
        return value

    async def compute_async(self, compute: Callable[[], Any]) -> tuple[Any, float]:
        """Async twin of :meth:`compute`: ``compute`` may return an awaitable, which is awaited."""
        started = time.perf_counter()
        try:
            value = compute()
            if inspect.isawaitable(value):
                value = await value
        except BaseException:
            self._stats.count(compute_errors=1)
            raise
        self._stats.count(computes=1)
        return value, time.perf_counter() - started


def _outcome(flight: Flight) -> Any:
    """A finished flight's value, or its error raised again (to a caller that shared it)."""
    if flight.error is not None:
        raise flight.error
    return flight.value


def _discard(awaitable: Any) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()  # a coroutine never awaited would warn at garbage collection
