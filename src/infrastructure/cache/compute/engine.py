"""Compute-once: ``get_or_set`` for any provider, written once over the contract.

Guarantees (the provider's docstrings and the README state them for users):

* A hit costs one ``get``. Only a miss takes a lock.
* At most one computation per key at a time among every caller sharing the cache: threads and tasks
  of this process share an in-process flight (:mod:`.flights`); processes sharing a Redis namespace
  share a lease in Redis (:mod:`.leases`), taken by the flight's leader only - so a process sends
  one lease request per missing key, however many of its callers ask.
* Waiting is bounded by ``wait_timeout``: then a caller computes itself rather than hang. Waiters
  of another process poll with backoff (10 ms, growing by half, at most 250 ms); waiters in this
  process wait for the flight's completion signal.
* A failing ``compute`` raises to its caller and to the callers sharing its flight; nothing is
  cached and the lease is released, so the next caller computes again.
* Cancelling a waiter cancels only its wait. Cancelling (or interrupting) the computing caller
  releases the lease and abandons the flight; one of its waiters then takes over.
* Without leases (the memory provider, or a Redis cache served by its fallback during an outage)
  the in-process flight still holds.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from src.infrastructure.cache.compute.flights import Flight, Flights
from src.infrastructure.cache.compute.leases import MISSING, Leases
from src.infrastructure.cache.compute.renewer import LeaseRenewer
from src.infrastructure.cache.compute.settings import ComputeSettings
from src.infrastructure.cache.compute.stats import ComputeStats
from src.interfaces.llm.cache import CacheError, CacheUnavailableError, ICacheProvider

logger = logging.getLogger(__name__)

#: Polling a lease held by another process: first wait, growth factor, longest wait (seconds).
POLL_FIRST, POLL_GROWTH, POLL_LONGEST = 0.01, 1.5, 0.25

Compute = Callable[[], Any]
AsyncCompute = Callable[[], Any | Awaitable[Any]]


class _TimedOut:
    """The wait for another process's computation reached ``wait_timeout``."""


_TIMED_OUT = _TimedOut()


@dataclass(slots=True)
class _Miss:
    """One caller's miss: what to compute, how to store it, until when to wait for others."""

    key: str
    flight: tuple[tuple[str, ...], str]  # (namespace path, key): the in-process flight it joins
    compute: Callable[[], Any]
    ttl: float | None
    settings: ComputeSettings
    deadline: float

    @classmethod
    def of(
        cls,
        scope: tuple[str, ...],
        key: str,
        compute: Callable[[], Any],
        ttl: float | None,
        settings: ComputeSettings,
    ) -> _Miss:
        if not callable(compute):
            raise TypeError(f"compute must be a zero-argument callable, got {type(compute).__name__}")
        deadline = time.monotonic() + settings.wait_timeout
        return cls(key, (scope, key), compute, ttl, settings, deadline)

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()


class ComputeOnce:
    """The compute-once layer of one cache: its flights, lease renewer and counters.

    ``cache`` is the provider as callers see it (wrappers included: a failure policy applies to the
    reads and writes made here); ``leases`` returns that provider's lease capability now, or None.
    """

    def __init__(
        self,
        cache: ICacheProvider,
        leases: Callable[[], Leases | None],
        settings: ComputeSettings,
        scope: tuple[str, ...] = (),
    ) -> None:
        self._cache = cache
        self._leases = leases
        self.settings = settings
        self.stats = ComputeStats()
        self._scope = scope
        self._flights = Flights()
        self._renewer = LeaseRenewer()

    def for_namespace(
        self, cache: ICacheProvider, leases: Callable[[], Leases | None], scope: tuple[str, ...]
    ) -> ComputeOnce:
        """The compute-once of ``cache``, a namespace (``scope``) of this one's cache: over the
        namespace's own reads and writes, sharing this one's flights (one per scope and key: the
        same namespace asked through two view objects still computes once), counters and renewer."""
        view = ComputeOnce(cache, leases, self.settings, scope)
        view.stats, view._flights, view._renewer = self.stats, self._flights, self._renewer
        return view

    # ---------------------------------------------------------------- sync

    def get_or_set(self, key: str, compute: Compute, ttl: float | None, options: dict[str, Any]) -> Any:
        """See ``ICacheProvider.get_or_set``."""
        value = self._cache.get(key, MISSING)
        if value is not MISSING:
            return value
        miss = _Miss.of(self._scope, key, compute, ttl, self.settings.with_options(options))
        while True:
            flight, leads = self._flights.join(miss.flight)
            if leads:
                return self._lead(miss, flight)
            self.stats.count(lock_waits=1)
            if not flight.wait(miss.seconds_left()):
                self.stats.count(lock_timeouts=1)
                return self._compute_and_set(miss)
            if not flight.abandoned:
                return _outcome(flight)

    def _lead(self, miss: _Miss, flight: Flight) -> Any:
        try:
            value = self._resolve(miss)
        except Exception as exc:
            self._flights.land(miss.flight, flight, error=exc)
            raise
        except BaseException:
            self._flights.land(miss.flight, flight, abandoned=True)
            raise
        self._flights.land(miss.flight, flight, value=value)
        return value

    def _resolve(self, miss: _Miss) -> Any:
        """The value of the key: found, computed here under the lease, or waited for."""
        leases = self._leases()
        if leases is None:
            value = self._cache.get(miss.key, MISSING)  # a flight that just landed may have stored it
            return self._compute_and_set(miss) if value is MISSING else value
        token = secrets.token_hex(8)
        while True:
            try:
                taken, value = leases.acquire(miss.key, token, miss.settings.lease_ttl)
            except CacheUnavailableError:
                return self._compute_and_set(miss)  # degraded: in-process only
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
            self.stats.count(lock_waits=1)
            value = self._wait_for_holder(leases, miss)
            if value is _TIMED_OUT:
                self.stats.count(lock_timeouts=1)
                return self._compute_and_set(miss)
            if value is not MISSING:
                return value
            # The lease is gone without a value (its holder failed or was cancelled): take it.

    def _wait_for_holder(self, leases: Leases, miss: _Miss) -> Any:
        """Poll until a value appears (it), the lease goes (MISSING) or the deadline (_TIMED_OUT)."""
        pause = POLL_FIRST
        while (left := miss.seconds_left()) > 0:
            time.sleep(min(pause, left))
            pause = min(pause * POLL_GROWTH, POLL_LONGEST)
            try:
                held, value = leases.peek(miss.key)
            except CacheUnavailableError:
                return _TIMED_OUT
            if value is not MISSING or not held:
                return value
        return _TIMED_OUT

    def _compute_holding(self, leases: Leases, token: str, miss: _Miss) -> Any:
        """Compute while holding the key's lease, then store the value in its place."""
        self._renewer.add(leases, miss.key, token, miss.settings.lease_ttl)
        try:
            value = self._compute(miss.compute)
        except BaseException:
            self._renewer.remove(leases, miss.key, token)
            with suppress(CacheError):
                leases.release(miss.key, token)
            raise
        self._renewer.remove(leases, miss.key, token)
        try:
            stored = leases.store(miss.key, token, value, miss.ttl)
        except CacheUnavailableError:
            self._cache.set(miss.key, value, miss.ttl)  # through the failure policy, as any write
            return value
        except BaseException:
            with suppress(CacheError):
                leases.release(miss.key, token)
            raise
        if not stored:
            logger.info(
                "compute-once: %r was set, deleted or re-leased while computing; not stored", miss.key
            )
        return value

    def _compute_and_set(self, miss: _Miss) -> Any:
        value = self._compute(miss.compute)
        self._cache.set(miss.key, value, miss.ttl)
        return value

    def _compute(self, compute: Compute) -> Any:
        try:
            value = compute()
        except BaseException:
            self.stats.count(compute_errors=1)
            raise
        if inspect.isawaitable(value):
            _discard(value)
            self.stats.count(compute_errors=1)
            raise TypeError("get_or_set's compute returned an awaitable; use get_or_set_async for it")
        self.stats.count(computes=1)
        return value

    # ---------------------------------------------------------------- async

    async def get_or_set_async(
        self, key: str, compute: AsyncCompute, ttl: float | None, options: dict[str, Any]
    ) -> Any:
        """See ``ICacheProvider.get_or_set_async``."""
        value = await self._cache.get_async(key, MISSING)
        if value is not MISSING:
            return value
        miss = _Miss.of(self._scope, key, compute, ttl, self.settings.with_options(options))
        while True:
            flight, leads = self._flights.join(miss.flight)
            if leads:
                return await self._lead_async(miss, flight)
            self.stats.count(lock_waits=1)
            if not await flight.wait_async(miss.seconds_left()):
                self.stats.count(lock_timeouts=1)
                return await self._compute_and_set_async(miss)
            if not flight.abandoned:
                return _outcome(flight)

    async def _lead_async(self, miss: _Miss, flight: Flight) -> Any:
        try:
            value = await self._resolve_async(miss)
        except Exception as exc:
            self._flights.land(miss.flight, flight, error=exc)
            raise
        except BaseException:
            self._flights.land(miss.flight, flight, abandoned=True)
            raise
        self._flights.land(miss.flight, flight, value=value)
        return value

    async def _resolve_async(self, miss: _Miss) -> Any:
        leases = self._leases()
        if leases is None:
            value = await self._cache.get_async(miss.key, MISSING)
            return await self._compute_and_set_async(miss) if value is MISSING else value
        token = secrets.token_hex(8)
        while True:
            try:
                taken, value = await leases.acquire_async(miss.key, token, miss.settings.lease_ttl)
            except CacheUnavailableError:
                return await self._compute_and_set_async(miss)
            except BaseException:
                with suppress(CacheError):
                    await asyncio.shield(leases.release_async(miss.key, token))
                raise
            if value is not MISSING:
                return value
            if taken:
                return await self._compute_holding_async(leases, token, miss)
            self.stats.count(lock_waits=1)
            value = await self._wait_for_holder_async(leases, miss)
            if value is _TIMED_OUT:
                self.stats.count(lock_timeouts=1)
                return await self._compute_and_set_async(miss)
            if value is not MISSING:
                return value

    async def _wait_for_holder_async(self, leases: Leases, miss: _Miss) -> Any:
        pause = POLL_FIRST
        while (left := miss.seconds_left()) > 0:
            await asyncio.sleep(min(pause, left))
            pause = min(pause * POLL_GROWTH, POLL_LONGEST)
            try:
                held, value = await leases.peek_async(miss.key)
            except CacheUnavailableError:
                return _TIMED_OUT
            if value is not MISSING or not held:
                return value
        return _TIMED_OUT

    async def _compute_holding_async(self, leases: Leases, token: str, miss: _Miss) -> Any:
        self._renewer.add(leases, miss.key, token, miss.settings.lease_ttl)
        try:
            value = await self._compute_async(miss.compute)
        except BaseException:
            self._renewer.remove(leases, miss.key, token)
            with suppress(CacheError):
                # Shielded: a cancelled caller still gives its lease up, so another takes over now.
                await asyncio.shield(leases.release_async(miss.key, token))
            raise
        self._renewer.remove(leases, miss.key, token)
        try:
            stored = await leases.store_async(miss.key, token, value, miss.ttl)
        except CacheUnavailableError:
            await self._cache.set_async(miss.key, value, miss.ttl)
            return value
        except BaseException:
            with suppress(CacheError):
                await asyncio.shield(leases.release_async(miss.key, token))
            raise
        if not stored:
            logger.info(
                "compute-once: %r was set, deleted or re-leased while computing; not stored", miss.key
            )
        return value

    async def _compute_and_set_async(self, miss: _Miss) -> Any:
        value = await self._compute_async(miss.compute)
        await self._cache.set_async(miss.key, value, miss.ttl)
        return value

    async def _compute_async(self, compute: AsyncCompute) -> Any:
        try:
            value = compute()
            if inspect.isawaitable(value):
                value = await value
        except BaseException:
            self.stats.count(compute_errors=1)
            raise
        self.stats.count(computes=1)
        return value


def _outcome(flight: Flight) -> Any:
    """A finished flight's value, or its error raised again (to a caller that shared it)."""
    if flight.error is not None:
        raise flight.error
    return flight.value


def _discard(awaitable: Any) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()  # a coroutine never awaited would warn at garbage collection
