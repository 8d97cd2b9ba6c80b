"""Compute-once: ``get_or_set`` for any provider, written once over the contract.

Guarantees (the contract's docstring states them for users):

* A hit costs one ``get`` (with stale serving or XFetch on: one ``get_entry``, also one round
  trip). Only a miss takes a lock.
* At most one computation per key at a time among every caller sharing the cache (:mod:`.misses`):
  an in-process flight, and a lease in Redis across processes. Waits are bounded by
  ``wait_timeout``; a failing computation reaches every caller sharing it and caches nothing.
* Stale serving (opt-in, ``stale_ttl`` > 0): an entry is kept ``stale_ttl`` seconds past its TTL.
  With ``stale_while_revalidate``, a caller finding it stale gets the stale value at once, and
  exactly one caller - one per process via the flight, one across processes via a refresh lock
  beside the key - computes a fresh one (and gets it). With ``stale_if_error``, a computation
  that fails while a stale value is there serves that value instead (logged, counted) until the
  window ends.
* XFetch (``beta`` > 0): a fresh entry may be refreshed early by one caller, with a probability
  that grows as its expiry nears (:func:`.miss.refresh_early`); if that refresh fails, the caller
  still gets the fresh value it found.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from src.infrastructure.cache.codec import StoredEntry
from src.infrastructure.cache.compute.flights import Flights
from src.infrastructure.cache.compute.leases import MISSING, Leases
from src.infrastructure.cache.compute.miss import Miss, refresh_early
from src.infrastructure.cache.compute.misses import EntryCache, Misses
from src.infrastructure.cache.compute.renewer import LeaseRenewer
from src.infrastructure.cache.compute.settings import ComputeSettings
from src.infrastructure.cache.compute.stats import ComputeStats
from src.interfaces.llm.cache import CacheError, CacheUnavailableError

logger = logging.getLogger(__name__)

Compute = Callable[[], Any]
AsyncCompute = Callable[[], Any | Awaitable[Any]]


class ComputeOnce:
    """The compute-once layer of one cache: ``get_or_set`` over ``cache``'s reads and writes.

    ``cache`` is the provider as callers see it (wrappers included: a failure policy applies to the
    reads and writes made here); ``leases`` returns that provider's lease capability now, or None;
    ``default_ttl`` is the cache's, for a ``get_or_set`` without TTL.
    """

    def __init__(
        self,
        cache: EntryCache,
        leases: Callable[[], Leases | None],
        settings: ComputeSettings,
        scope: tuple[str, ...] = (),
        default_ttl: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self._cache = cache
        self._leases = leases
        self.settings = settings
        #: True when a hit is a plain ``get`` (no stale serving, no XFetch): the providers' fast path.
        self.plain = not settings.keeps_entry_metadata
        self.stats = ComputeStats()
        self._scope = scope
        self._default_ttl = default_ttl
        self._misses = Misses(cache, leases, Flights(), LeaseRenewer(), self.stats)

    def for_namespace(
        self,
        cache: EntryCache,
        leases: Callable[[], Leases | None],
        scope: tuple[str, ...],
        default_ttl: Callable[[], float],
    ) -> ComputeOnce:
        """The compute-once of ``cache``, a namespace (``scope``) of this one's cache: over the
        namespace's own reads and writes, sharing this one's flights (one per scope and key: the
        same namespace asked through two view objects still computes once), counters and renewer."""
        view = ComputeOnce(cache, leases, self.settings, scope, default_ttl)
        view.stats = self.stats
        view._misses = self._misses.for_cache(cache, leases)
        return view

    def miss(self, key: str, compute: Compute, ttl: float | None) -> Any:
        """Resolve a miss the caller already found with a plain ``get`` (default settings)."""
        return self._misses.resolve(self._miss(key, compute, ttl, self.settings))

    async def miss_async(self, key: str, compute: AsyncCompute, ttl: float | None) -> Any:
        """Async twin of :meth:`miss`."""
        return await self._misses.resolve_async(self._miss(key, compute, ttl, self.settings))

    def _miss(self, key: str, compute: Compute, ttl: float | None, settings: ComputeSettings) -> Miss:
        return Miss.of(
            self._scope, key, compute=compute, ttl=ttl, settings=settings, default_ttl=self._default_ttl()
        )

    # ---------------------------------------------------------------- sync

    def get_or_set(self, key: str, compute: Compute, ttl: float | None, options: dict[str, Any]) -> Any:
        """See ``ICacheProvider.get_or_set``."""
        if options or self.settings.keeps_entry_metadata:
            return self._get_or_set_with(key, compute, ttl, self.settings.with_options(options))
        value = self._cache.get(key, MISSING)
        if value is not MISSING:
            return value
        return self._misses.resolve(self._miss(key, compute, ttl, self.settings))

    def _get_or_set_with(
        self, key: str, compute: Compute, ttl: float | None, settings: ComputeSettings
    ) -> Any:
        if not settings.keeps_entry_metadata:
            value = self._cache.get(key, MISSING)
            if value is not MISSING:
                return value
            return self._misses.resolve(self._miss(key, compute, ttl, settings))
        entry = self._cache.get_entry(key)
        miss = self._miss(key, compute, ttl, settings)
        if entry is MISSING:
            return self._misses.resolve(miss)
        if entry.fresh:
            if refresh_early(entry, settings.beta):
                return self._refresh(miss, entry)
            return entry.value
        if settings.stale_while_revalidate:
            return self._refresh(miss, entry)
        try:
            return self._misses.resolve(miss)
        except Exception as exc:
            return self._stale_on_error(miss, entry, exc)

    def _refresh(self, miss: Miss, entry: StoredEntry) -> Any:
        """Become the one caller refreshing ``entry`` (return the new value), or serve ``entry``."""
        flight, leads = self._misses.flights.join(miss.flight)
        if not leads:  # another caller of this process refreshes (or computes) it now
            return self._served(entry)
        try:
            refreshed = self._refresh_as_leader(miss)
        except BaseException as exc:
            self._misses.flights.land(miss.flight, flight, value=entry.value)
            if not isinstance(exc, Exception):
                raise
            return self._stale_on_error(miss, entry, exc)
        if refreshed is MISSING:  # another process refreshes it
            self._misses.flights.land(miss.flight, flight, value=entry.value)
            return self._served(entry)
        self._misses.flights.land(miss.flight, flight, value=refreshed)
        if entry.fresh:
            self.stats.count(early_refreshes=1)
        return refreshed

    def _refresh_as_leader(self, miss: Miss) -> Any:
        """The fresh value, computed and stored here; or MISSING if another process refreshes."""
        leases, token = self._leases(), secrets.token_hex(8)
        if leases is not None and not _won(leases.try_refresh, miss, token):
            return MISSING
        try:
            value = self._misses.compute_and_set(miss)
        finally:
            if leases is not None:
                with suppress(CacheError):
                    leases.end_refresh(miss.key, token)
        return value

    # ---------------------------------------------------------------- async

    async def get_or_set_async(
        self, key: str, compute: AsyncCompute, ttl: float | None, options: dict[str, Any]
    ) -> Any:
        """See ``ICacheProvider.get_or_set_async``."""
        if options or self.settings.keeps_entry_metadata:
            return await self._get_or_set_with_async(key, compute, ttl, self.settings.with_options(options))
        value = await self._cache.get_async(key, MISSING)
        if value is not MISSING:
            return value
        return await self._misses.resolve_async(self._miss(key, compute, ttl, self.settings))

    async def _get_or_set_with_async(
        self, key: str, compute: AsyncCompute, ttl: float | None, settings: ComputeSettings
    ) -> Any:
        if not settings.keeps_entry_metadata:
            value = await self._cache.get_async(key, MISSING)
            if value is not MISSING:
                return value
            return await self._misses.resolve_async(self._miss(key, compute, ttl, settings))
        entry = await self._cache.get_entry_async(key)
        miss = self._miss(key, compute, ttl, settings)
        if entry is MISSING:
            return await self._misses.resolve_async(miss)
        if entry.fresh:
            if refresh_early(entry, settings.beta):
                return await self._refresh_async(miss, entry)
            return entry.value
        if settings.stale_while_revalidate:
            return await self._refresh_async(miss, entry)
        try:
            return await self._misses.resolve_async(miss)
        except Exception as exc:
            return self._stale_on_error(miss, entry, exc)

    async def _refresh_async(self, miss: Miss, entry: StoredEntry) -> Any:
        flight, leads = self._misses.flights.join(miss.flight)
        if not leads:
            return self._served(entry)
        try:
            refreshed = await self._refresh_as_leader_async(miss)
        except BaseException as exc:
            self._misses.flights.land(miss.flight, flight, value=entry.value)
            if not isinstance(exc, Exception):
                raise
            return self._stale_on_error(miss, entry, exc)
        if refreshed is MISSING:  # another process refreshes it
            self._misses.flights.land(miss.flight, flight, value=entry.value)
            return self._served(entry)
        self._misses.flights.land(miss.flight, flight, value=refreshed)
        if entry.fresh:
            self.stats.count(early_refreshes=1)
        return refreshed

    async def _refresh_as_leader_async(self, miss: Miss) -> Any:
        leases, token = self._leases(), secrets.token_hex(8)
        if leases is not None and not await _won_async(leases.try_refresh_async, miss, token):
            return MISSING
        try:
            value = await self._misses.compute_and_set_async(miss)
        finally:
            if leases is not None:
                with suppress(CacheError):
                    await asyncio.shield(leases.end_refresh_async(miss.key, token))
        return value

    # ---------------------------------------------------------------- shared by both colours

    def _served(self, entry: StoredEntry) -> Any:
        """``entry``'s value, counted when stale."""
        if not entry.fresh:
            self.stats.count(stale_served=1)
        return entry.value

    def _stale_on_error(self, miss: Miss, entry: StoredEntry, exc: Exception) -> Any:
        """After a failed refresh or recomputation: the fresh value found (an early refresh), the
        stale one (``stale_if_error``), or the error. An error of the cache itself always raises."""
        if isinstance(exc, CacheError) or not (entry.fresh or miss.settings.stale_if_error):
            raise exc
        logger.warning("compute-once: computing %r failed (%s); serving the value found", miss.key, exc)
        return self._served(entry)


def _won(try_refresh: Callable[[str, str, float], bool], miss: Miss, token: str) -> bool:
    """Whether this caller may refresh: it took the refresh lock, or the backend is away (then the
    in-process flight alone decides)."""
    try:
        return try_refresh(miss.key, token, miss.settings.lease_ttl)
    except CacheUnavailableError:
        return True


async def _won_async(
    try_refresh: Callable[[str, str, float], Awaitable[bool]], miss: Miss, token: str
) -> bool:
    try:
        return await try_refresh(miss.key, token, miss.settings.lease_ttl)
    except CacheUnavailableError:
        return True
