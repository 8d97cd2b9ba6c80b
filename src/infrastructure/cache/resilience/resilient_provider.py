"""A provider that keeps serving while its backend is down, and never serves stale values after.

Guarantee: a delete, overwrite or clear made through this provider while the backend was unavailable
is not undone when the backend returns. Every write that does not reach the backend marks its keys
(or, for ``clear``, the whole namespace) as invalidated; before traffic returns to the backend, the
one probing caller deletes those keys there (``clear()`` for the namespace), and only then closes
the circuit. Writes racing that probe go to the backend afterwards or join the next round of
invalidation: marking and closing share one lock. The fallback is emptied whenever the circuit opens
or closes - on closing under that same lock, which every write to the fallback also holds - so it
only ever serves values written during the current outage.

Limits: the record of invalidated keys lives in this process. If the process dies during an outage,
its invalidations are lost; other processes' writes are theirs to replay. More than
``max_pending_invalidations`` keys turn into one ``clear()`` of the namespace on recovery. An
invalidation removes the backend's value rather than writing the fallback's: the next read is a
miss, never an old value and never a value that overwrote a newer one from another process.

The breaker's rule, the same for every operation: a call the backend answered (a hit, a miss, a
write, an error about the input) resets the count of consecutive failures; a call that raised
:class:`CacheUnavailableError` adds one, and a failed write opens the circuit at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar, cast

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.codec import StoredEntry
from src.infrastructure.cache.compute.leases import Leases
from src.infrastructure.cache.resilience.circuit_breaker import CircuitBreaker
from src.infrastructure.cache.resilience.invalidations import Path, PendingInvalidations
from src.infrastructure.cache.sentinels import MISSING
from src.infrastructure.cache.validation import check_keys, check_mapping
from src.infrastructure.cache.wrappers.forwarding import ForwardingCacheProvider
from src.interfaces.llm.cache import CacheUnavailableError

logger = logging.getLogger(__name__)

T = TypeVar("T")
OnError = Literal["raise", "fallback", "ignore"]
#: One operation, as a call on whichever provider serves it (the primary, or the fallback).
Call = Callable[[CacheProviderBase], T]
AsyncCall = Callable[[CacheProviderBase], Awaitable[T]]
_BATCH = 1000


class ResilientCacheProvider(ForwardingCacheProvider):
    """Wraps ``primary`` with a circuit breaker and a failure policy (``on_error``).

    * ``raise``: callers get :class:`CacheUnavailableError`; while the circuit is open, at once.
    * ``fallback``: ``fallback`` serves reads and writes while ``primary`` is unavailable.
    * ``ignore``: reads are misses and writes are dropped (still validated), nothing raises.

    Only :class:`CacheUnavailableError` counts as an outage: misuse, unserializable values and access
    errors (wrong password, untrusted certificate) always reach the caller, so a fallback never
    hides a misconfiguration. While the circuit is open, keys, TTLs and values are still checked as
    the primary would check them (``primary.check_write``): bad input fails alike either way.
    """

    def __init__(
        self,
        primary: CacheProviderBase,
        *,
        on_error: OnError,
        breaker: CircuitBreaker,
        fallback: CacheProviderBase | None = None,
        max_pending_invalidations: int = 100_000,
    ) -> None:
        if on_error == "fallback" and fallback is None:
            raise ValueError("on_error='fallback' needs a fallback provider")
        super().__init__(primary)
        self.primary = primary
        self.fallback = fallback if on_error == "fallback" else None
        self.on_error = on_error
        self.breaker = breaker
        # Shared with every namespace view (a view is a shallow copy: see ``namespace``): one
        # outage, one record of what to replay, one set of counters, for the whole cache.
        self._lock = threading.Lock()  # guards the invalidation record and closing the circuit
        self._pending = PendingInvalidations(max_pending_invalidations)
        self._counts = _Counts()
        self._cache_primary, self._cache_fallback = primary, self.fallback

    def __repr__(self) -> str:
        return f"ResilientCacheProvider({self.primary!r}, on_error={self.on_error!r})"

    # ---------------------------------------------------------------- routing, sync

    # On the healthy path a call costs one attribute read (``breaker.closed``), the primary's call
    # and ``record_success``; the probe, the failure handling and the degraded paths are apart.

    def _read(self, call: Call[T], missing: T, keys: Iterable[str] = ()) -> T:
        """``call`` on the primary; while it is unavailable, on the fallback (or ``missing``)."""
        if self.breaker.closed or self._probe():
            try:
                result = call(self.primary)
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
            else:
                self.breaker.record_success()
                return result
        return self._degraded_read(call, missing, keys)

    def _write(
        self,
        call: Call[T],
        keys: Iterable[str],
        values: Iterable[Any] = (),
        ttl: Any = None,
        clear: bool = False,
    ) -> T | None:
        """``call`` on the primary; while it is unavailable, as the policy has it (see the module)."""
        if self.breaker.closed or self._probe():
            try:
                result = call(self.primary)
            except CacheUnavailableError as exc:
                self._primary_failed(exc, keys, clear)
            else:
                self.breaker.record_success()
                return result
        return self._degraded_write(call, keys, values, ttl, clear)

    def _probe(self) -> bool:
        """While the circuit is open: True if this caller won the probe and the backend recovered."""
        return self.breaker.try_begin_probe() and self._recover()

    def _degraded_read(self, call: Call[T], missing: T, keys: Iterable[str]) -> T:
        source = self._degraded_source(keys)
        return missing if source is None else call(source)

    def _degraded_write(
        self, call: Call[T], keys: Iterable[str], values: Iterable[Any], ttl: Any, clear: bool
    ) -> T | None:
        if self._marked_while_open(keys, values, ttl, clear):
            return None if self.fallback is None else call(self.fallback)
        # The probe closed the circuit while this call was on its way here: had it been marked,
        # the write would be lost until the next outage, so it goes to the backend after all.
        return self._write(call, keys, values, ttl, clear)

    # ---------------------------------------------------------------- routing, async

    async def _read_async(self, call: AsyncCall[T], missing: T, keys: Iterable[str] = ()) -> T:
        """Async twin of :meth:`_read`."""
        if self.breaker.closed or await self._probe_async():
            try:
                result = await call(self.primary)
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
            else:
                self.breaker.record_success()
                return result
        return await self._degraded_read_async(call, missing, keys)

    async def _write_async(
        self,
        call: AsyncCall[T],
        keys: Iterable[str],
        values: Iterable[Any] = (),
        ttl: Any = None,
        clear: bool = False,
    ) -> T | None:
        """Async twin of :meth:`_write`."""
        if self.breaker.closed or await self._probe_async():
            try:
                result = await call(self.primary)
            except CacheUnavailableError as exc:
                self._primary_failed(exc, keys, clear)
            else:
                self.breaker.record_success()
                return result
        return await self._degraded_write_async(call, keys, values, ttl, clear)

    async def _probe_async(self) -> bool:
        # The probe replays invalidations with the sync client, in a thread, off the event loop.
        return self.breaker.try_begin_probe() and await asyncio.to_thread(self._recover)

    async def _degraded_read_async(self, call: AsyncCall[T], missing: T, keys: Iterable[str]) -> T:
        source = self._degraded_source(keys)
        return missing if source is None else await call(source)

    async def _degraded_write_async(
        self, call: AsyncCall[T], keys: Iterable[str], values: Iterable[Any], ttl: Any, clear: bool
    ) -> T | None:
        if self._marked_while_open(keys, values, ttl, clear):
            return None if self.fallback is None else await call(self.fallback)
        return await self._write_async(call, keys, values, ttl, clear)

    # ---------------------------------------------------------------- the policy, shared by both colours

    def _degraded_source(self, keys: Iterable[str]) -> CacheProviderBase | None:
        """Who serves a read while the circuit is open: the fallback, or None (a miss).

        Raises under ``raise``. Keys are checked first, so misuse fails alike with the backend down.
        """
        check_keys(keys)
        with self._lock:
            self._counts.degraded_calls += 1
        if self.on_error == "raise":
            raise CacheUnavailableError(f"{self.name} cache unavailable (circuit open); on_error=raise")
        return self.fallback

    def _marked_while_open(self, keys: Iterable[str], values: Iterable[Any], ttl: Any, clear: bool) -> bool:
        """Mark a write's keys if the circuit is still open (True); False if it closed meanwhile.

        Refused input (bad key, value or TTL, as the primary refuses it) raises first and marks
        nothing: the invalidation would delete a value stored before the outage. Under ``raise``
        the keys are marked, then :class:`CacheUnavailableError` is raised.

        The fallback's write happens after this returns, outside the lock; a probe closing the
        circuit in between empties the fallback under the lock first, so such a write can land in a
        fallback nobody reads until the next outage, whose opening empties it again.
        """
        check_keys(keys)
        self.primary.check_write(values, ttl)
        with self._lock:
            self._counts.degraded_calls += 1
            if self.breaker.closed:
                return False
            self._pending.mark(keys, clear, self.path)
        if self.on_error == "raise":
            raise CacheUnavailableError(f"{self.name} cache unavailable (circuit open); on_error=raise")
        return True

    def _primary_failed(
        self, exc: CacheUnavailableError, keys: Iterable[str] = (), clear: bool = False
    ) -> None:
        """Record a failure and re-raise it under ``raise``.

        A failed write may have left the old value on the backend, so it opens the circuit at once
        (not after ``failure_threshold``): the backend serves again only after the probe has
        replayed the invalidation.
        """
        keys = list(keys)
        if keys or clear:
            with self._lock:
                self._pending.mark(keys, clear, self.path)
            opened = self.breaker.trip()
        else:
            opened = self.breaker.record_failure()
        if opened:
            self._on_open(exc)
        else:
            logger.debug("%s cache call failed: %s", self.name, exc)
        if self.on_error == "raise":
            raise exc

    def _on_open(self, exc: BaseException) -> None:
        if self._cache_fallback is not None:
            self._cache_fallback.clear()  # nothing from an earlier outage may be served in this one
        logger.warning(
            "%s cache unavailable (%s); on_error=%s: %s until it answers again (next probe in %.1fs)",
            self.name,
            exc,
            self.on_error,
            {"raise": "calls raise", "fallback": "serving from the fallback", "ignore": "reads miss"}[
                self.on_error
            ],
            self.breaker.open_interval,
        )

    def _recover(self) -> bool:
        """The probe: replay invalidations on the primary, then close the circuit. True if it did."""
        replayed = 0
        try:
            report = self.primary.health()
            if not report.get("healthy"):
                raise CacheUnavailableError(f"health check failed: {report.get('detail')}")
            while taken := self._take_or_close():
                replayed += self._replay(taken)
        except CacheUnavailableError as exc:
            self.breaker.end_probe(recovered=False)
            logger.info("%s cache still unavailable: %s", self.name, exc)
            return False
        except BaseException:
            self.breaker.end_probe(recovered=False)
            raise
        with self._lock:
            self._counts.invalidations_replayed += replayed
        logger.warning(
            "%s cache available again; replayed %d invalidations before serving", self.name, replayed
        )
        return True

    def _take_or_close(self) -> list[tuple[Path, list[str], bool]]:
        """What is left to replay; when nothing is, close the circuit (and empty the fallback)
        under the lock that marking takes, so that no write slips in between."""
        with self._lock:
            taken = self._pending.take()
            if not taken:
                self.breaker.end_probe(recovered=True)
                if self._cache_fallback is not None:
                    # Under the lock too: a degraded write that was already on its way would
                    # otherwise land after this clear and be served by a later failed read.
                    self._cache_fallback.clear()
            return taken

    def _replay(self, taken: list[tuple[Path, list[str], bool]]) -> int:
        """Delete on the primary what the outage wrote elsewhere; keep what fails for the next probe."""
        replayed = 0
        for at, (path, keys, clear) in enumerate(taken):
            target = self._cache_primary
            for name in path:
                target = target.namespace(name)
            try:
                if clear:
                    target.clear()
                for start in range(0, len(keys), _BATCH):
                    target.delete_many(keys[start : start + _BATCH])
            except BaseException:
                with self._lock:  # keep this one and the rest for the next probe
                    for later_path, later_keys, later_clear in taken[at:]:
                        self._pending.mark(later_keys, later_clear, later_path)
                raise
            replayed += len(keys) + clear
        return replayed

    # ---------------------------------------------------------------- reads

    # get and set (and their twins) are the hot paths: their healthy path is written out, with no
    # closure and no extra frame (~10% of a coalesced get_async); the rest goes through _read/_write.

    def get(self, key: str, default: Any = None) -> Any:
        if not self.breaker.closed:
            return self._read(lambda cache: cache.get(key, default), default, (key,))
        try:
            value = self.primary.get(key, default)
        except CacheUnavailableError as exc:
            self._primary_failed(exc)
            return self._degraded_read(lambda cache: cache.get(key, default), default, (key,))
        self.breaker.record_success()
        return value

    def exists(self, key: str) -> bool:
        return self._read(lambda cache: cache.exists(key), False, (key,))

    def get_entry(self, key: str) -> StoredEntry | Any:
        return self._read(lambda cache: cache.get_entry(key), MISSING, (key,))

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        return self._read(lambda cache: cache.get_many(wanted), {})

    def get_size(self) -> int:
        return self._read(lambda cache: cache.get_size(), 0)

    def cleanup_expired(self) -> int:
        return self._read(lambda cache: cache.cleanup_expired(), 0)

    # ---------------------------------------------------------------- writes

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        if not self.breaker.closed:
            self._write(lambda cache: cache.set(key, value, ttl), (key,), (value,), ttl)
            return
        try:
            self.primary.set(key, value, ttl)
        except CacheUnavailableError as exc:
            self._primary_failed(exc, (key,))
            self._degraded_write(lambda cache: cache.set(key, value, ttl), (key,), (value,), ttl, False)
            return
        self.breaker.record_success()

    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        items = check_mapping(mapping)
        keys, values = items.keys(), items.values()
        self._write(lambda cache: cache.set_many(items, ttl), keys, values, ttl)

    def delete(self, key: str) -> bool:
        return bool(self._write(lambda cache: cache.delete(key), (key,)))

    def delete_many(self, keys: Iterable[str]) -> int:
        doomed = check_keys(keys)
        return self._write(lambda cache: cache.delete_many(doomed), doomed) or 0

    def clear(self) -> int:
        return self._write(lambda cache: cache.clear(), (), clear=True) or 0

    # ---------------------------------------------------------------- async twins

    async def get_async(self, key: str, default: Any = None) -> Any:
        if not self.breaker.closed:
            return await self._read_async(lambda cache: cache.get_async(key, default), default, (key,))
        try:
            value = await self.primary.get_async(key, default)
        except CacheUnavailableError as exc:
            self._primary_failed(exc)
            return await self._degraded_read_async(
                lambda cache: cache.get_async(key, default), default, (key,)
            )
        self.breaker.record_success()
        return value

    async def exists_async(self, key: str) -> bool:
        return await self._read_async(lambda cache: cache.exists_async(key), False, (key,))

    async def get_entry_async(self, key: str) -> StoredEntry | Any:
        return await self._read_async(lambda cache: cache.get_entry_async(key), MISSING, (key,))

    async def get_many_async(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        return await self._read_async(lambda cache: cache.get_many_async(wanted), {})

    async def get_size_async(self) -> int:
        return await self._read_async(lambda cache: cache.get_size_async(), 0)

    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None:
        if not self.breaker.closed:
            await self._write_async(lambda cache: cache.set_async(key, value, ttl), (key,), (value,), ttl)
            return
        try:
            await self.primary.set_async(key, value, ttl)
        except CacheUnavailableError as exc:
            self._primary_failed(exc, (key,))
            await self._degraded_write_async(
                lambda cache: cache.set_async(key, value, ttl), (key,), (value,), ttl, False
            )
            return
        self.breaker.record_success()

    async def set_many_async(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        items = check_mapping(mapping)
        keys, values = items.keys(), items.values()
        await self._write_async(lambda cache: cache.set_many_async(items, ttl), keys, values, ttl)

    async def delete_async(self, key: str) -> bool:
        return bool(await self._write_async(lambda cache: cache.delete_async(key), (key,)))

    async def delete_many_async(self, keys: Iterable[str]) -> int:
        doomed = check_keys(keys)
        return await self._write_async(lambda cache: cache.delete_many_async(doomed), doomed) or 0

    async def clear_async(self) -> int:
        return await self._write_async(lambda cache: cache.clear_async(), (), clear=True) or 0

    # ---------------------------------------------------------------- state and lifetime

    def namespace(self, name: str) -> ResilientCacheProvider:
        """The namespace ``name`` of the primary (and of the fallback), behind this wrapper's
        breaker and policy: one outage for the whole cache, whose invalidations carry their path."""
        view = cast(ResilientCacheProvider, super().namespace(name))
        view.primary = view.inner
        if self.fallback is not None:
            view.fallback = self.fallback.namespace(name)
        return view

    def leases(self) -> Leases | None:
        """The primary's leases while it serves; None while the circuit is open (compute-once then
        holds within this process only, over the fallback)."""
        return super().leases() if self.breaker.closed else None

    def get_stats(self) -> dict[str, Any]:
        stats = self._with_compute_stats(self.primary.get_stats())
        with self._lock:
            pending = self._pending.describe()
        stats["resilience"] = {
            "on_error": self.on_error,
            "circuit": self.breaker.snapshot(),
            "degraded_calls": self._counts.degraded_calls,
            "pending_invalidations": pending,
            "invalidations_replayed": self._counts.invalidations_replayed,
        }
        if self.fallback is not None:
            stats["fallback"] = self.fallback.get_stats()
        return stats

    def health(self) -> dict[str, Any]:
        report = self.primary.health()
        report["circuit"] = self.breaker.state
        report["on_error"] = self.on_error
        report["healthy"] = bool(report.get("healthy")) and self.breaker.closed
        return report

    def close(self) -> None:
        try:
            self.primary.close()
        finally:
            if self.fallback is not None:
                self.fallback.close()

    async def aclose(self) -> None:
        try:
            await self.primary.aclose()
        finally:
            if self.fallback is not None:
                await self.fallback.aclose()


class _Counts:
    """The wrapper's counters, one object shared by the cache and its namespace views."""

    __slots__ = ("degraded_calls", "invalidations_replayed")

    def __init__(self) -> None:
        self.degraded_calls = 0
        self.invalidations_replayed = 0
