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
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

from src.infrastructure.cache import serialization
from src.infrastructure.cache.resilience.circuit_breaker import CircuitBreaker
from src.infrastructure.cache.resilience.invalidations import PendingInvalidations
from src.infrastructure.cache.validation import check_key, check_keys, resolve_ttl
from src.interfaces.llm.cache import CacheUnavailableError, ICacheProvider

logger = logging.getLogger(__name__)

T = TypeVar("T")
OnError = Literal["raise", "fallback", "ignore"]
_BATCH = 1000


class ResilientCacheProvider(ICacheProvider):
    """Wraps ``primary`` with a circuit breaker and a failure policy (``on_error``).

    * ``raise``: callers get :class:`CacheUnavailableError`; while the circuit is open, at once.
    * ``fallback``: ``fallback`` serves reads and writes while ``primary`` is unavailable.
    * ``ignore``: reads are misses and writes are dropped (still validated), nothing raises.

    Only :class:`CacheUnavailableError` counts as an outage: misuse, unserializable values and access
    errors (wrong password, untrusted certificate) always reach the caller, so a fallback never
    hides a misconfiguration. While the circuit is open, keys, TTLs and values are still checked as
    the primary would (``max_value_bytes`` is the primary's limit): bad input fails alike either way.
    """

    def __init__(
        self,
        primary: ICacheProvider,
        *,
        on_error: OnError,
        breaker: CircuitBreaker,
        fallback: ICacheProvider | None = None,
        max_pending_invalidations: int = 100_000,
        max_value_bytes: int | None = None,
    ) -> None:
        if on_error == "fallback" and fallback is None:
            raise ValueError("on_error='fallback' needs a fallback provider")
        self.name = primary.name
        self.primary = primary
        self.fallback = fallback if on_error == "fallback" else None
        self.on_error = on_error
        self.breaker = breaker
        self._max_value_bytes = max_value_bytes
        self._lock = threading.Lock()  # guards the invalidation record and closing the circuit
        self._pending = PendingInvalidations(max_pending_invalidations)
        self._degraded_calls = 0
        self._invalidations_replayed = 0

    def __repr__(self) -> str:
        return f"ResilientCacheProvider({self.primary!r}, on_error={self.on_error!r})"

    # ---------------------------------------------------------------- routing

    # Every method asks ``self.breaker.closed or self._probe()``: on the healthy path that is one
    # attribute read, with no call and (in async methods) no coroutine to create.

    def _probe(self) -> bool:
        """While the circuit is open: True if this caller won the probe and the backend recovered."""
        return self.breaker.try_begin_probe() and self._recover()

    async def _probe_async(self) -> bool:
        # The probe replays invalidations with the sync client, in a thread, off the event loop.
        return self.breaker.try_begin_probe() and await asyncio.to_thread(self._recover)

    def _primary_failed(
        self, exc: CacheUnavailableError, keys: Iterable[str] = (), clear: bool = False
    ) -> None:
        """Record a failure and re-raise it under ``raise``.

        A failed write may have left the old value on the backend, so it opens the circuit at once
        (not after ``failure_threshold``): the backend serves again only after the probe has
        replayed the invalidation.
        """
        if keys or clear:
            with self._lock:
                self._pending.mark(keys, clear)
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
        if self.fallback is not None:
            self.fallback.clear()  # nothing from an earlier outage may be served in this one
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
            while True:
                with self._lock:
                    keys, clear = self._pending.take()
                    if not keys and not clear:
                        self.breaker.end_probe(recovered=True)  # under the lock: no write slips in between
                        if self.fallback is not None:
                            # Under the lock too: a degraded write that was already on its way would
                            # otherwise land after this clear and be served by a later failed read.
                            self.fallback.clear()
                        break
                try:
                    if clear:
                        self.primary.clear()
                    for start in range(0, len(keys), _BATCH):
                        self.primary.delete_many(keys[start : start + _BATCH])
                    replayed += len(keys) + clear
                except BaseException:
                    with self._lock:
                        self._pending.mark(keys, clear)  # keep them for the next probe
                    raise
        except CacheUnavailableError as exc:
            self.breaker.end_probe(recovered=False)
            logger.info("%s cache still unavailable: %s", self.name, exc)
            return False
        except BaseException:
            self.breaker.end_probe(recovered=False)
            raise
        self._invalidations_replayed += replayed
        logger.warning(
            "%s cache available again; replayed %d invalidations before serving", self.name, replayed
        )
        return True

    # ---------------------------------------------------------------- degraded paths

    def _degraded_read(self, read: Callable[[ICacheProvider], T], missing: T) -> T:
        with self._lock:
            self._degraded_calls += 1
        if self.on_error == "raise":
            raise CacheUnavailableError(f"{self.name} cache unavailable (circuit open); on_error=raise")
        return missing if self.fallback is None else read(self.fallback)

    def _degraded_write(
        self,
        keys: list[str],
        write: Callable[[ICacheProvider], T],
        values: Iterable[Any] = (),
        ttl: Any = None,
        clear: bool = False,
    ) -> T | None:
        # Refused input must neither be accepted by the fallback (whose limits may differ) nor mark
        # its keys: the invalidation would delete a value stored before the outage.
        self._refuse_what_the_primary_would(values, ttl)
        with self._lock:
            self._degraded_calls += 1
            if not self.breaker.closed:
                self._pending.mark(keys, clear)
                return self._write_fallback(write)
        # The probe closed the circuit while this call was on its way here: had it been marked,
        # the write would be lost until the next outage, so it goes to the backend after all.
        # (From an async method this is a sync call: rare, and bounded by the socket timeout.)
        try:
            return write(self.primary)
        except CacheUnavailableError as exc:
            self._primary_failed(exc, keys, clear)  # marks the keys and opens the circuit again
        with self._lock:
            return None if self.breaker.closed else self._write_fallback(write)

    def _write_fallback(self, write: Callable[[ICacheProvider], T]) -> T | None:
        """The write as the policy has it while the circuit is open. Call with ``_lock`` held.

        Held so that no write lands in the fallback after ``_recover`` has emptied it and closed
        the circuit: a later failed read would serve it, though the backend may have moved on.
        """
        if self.on_error == "raise":
            raise CacheUnavailableError(f"{self.name} cache unavailable (circuit open); on_error=raise")
        return None if self.fallback is None else write(self.fallback)

    def _refuse_what_the_primary_would(self, values: Iterable[Any], ttl: Any) -> None:
        resolve_ttl(ttl, 0.0)
        for value in values:
            payload = serialization.dumps(value)
            if self._max_value_bytes is not None:
                serialization.check_size(payload, self._max_value_bytes)

    # ---------------------------------------------------------------- reads

    def get(self, key: str, default: Any = None) -> Any:
        if self.breaker.closed or self._probe():
            try:
                value = self.primary.get(key, default)
                self.breaker.record_success()
                return value
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
        return self._degraded_read(lambda cache: cache.get(key, default), _validated(key, default))

    def exists(self, key: str) -> bool:
        if self.breaker.closed or self._probe():
            try:
                return self.primary.exists(key)
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
        return self._degraded_read(lambda cache: cache.exists(key), _validated(key, False))

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        if self.breaker.closed or self._probe():
            try:
                return self.primary.get_many(wanted)
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
        return self._degraded_read(lambda cache: cache.get_many(wanted), {})

    def get_size(self) -> int:
        if self.breaker.closed or self._probe():
            try:
                return self.primary.get_size()
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
        return self._degraded_read(lambda cache: cache.get_size(), 0)

    def cleanup_expired(self) -> int:
        if self.breaker.closed or self._probe():
            try:
                return self.primary.cleanup_expired()
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
        return self._degraded_read(lambda cache: cache.cleanup_expired(), 0)

    # ---------------------------------------------------------------- writes

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        if self.breaker.closed or self._probe():
            try:
                self.primary.set(key, value, ttl)
                self.breaker.record_success()
                return
            except CacheUnavailableError as exc:
                self._primary_failed(exc, (key,))
        self._degraded_write([check_key(key)], lambda cache: cache.set(key, value, ttl), (value,), ttl)

    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        if self.breaker.closed or self._probe():
            try:
                self.primary.set_many(mapping, ttl)
                return
            except CacheUnavailableError as exc:
                self._primary_failed(exc, mapping.keys())
        keys = check_keys(mapping)
        self._degraded_write(keys, lambda cache: cache.set_many(mapping, ttl), mapping.values(), ttl)

    def delete(self, key: str) -> bool:
        if self.breaker.closed or self._probe():
            try:
                return self.primary.delete(key)
            except CacheUnavailableError as exc:
                self._primary_failed(exc, (key,))
        return bool(self._degraded_write([check_key(key)], lambda cache: cache.delete(key)))

    def delete_many(self, keys: Iterable[str]) -> int:
        doomed = check_keys(keys)
        if self.breaker.closed or self._probe():
            try:
                return self.primary.delete_many(doomed)
            except CacheUnavailableError as exc:
                self._primary_failed(exc, doomed)
        return self._degraded_write(doomed, lambda cache: cache.delete_many(doomed)) or 0

    def clear(self) -> int:
        if self.breaker.closed or self._probe():
            try:
                return self.primary.clear()
            except CacheUnavailableError as exc:
                self._primary_failed(exc, clear=True)
        return self._degraded_write([], lambda cache: cache.clear(), clear=True) or 0

    # ---------------------------------------------------------------- async twins

    async def get_async(self, key: str, default: Any = None) -> Any:
        if self.breaker.closed or await self._probe_async():
            try:
                value = await self.primary.get_async(key, default)
                self.breaker.record_success()
                return value
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
        return self._degraded_read(lambda cache: cache.get(key, default), _validated(key, default))

    async def exists_async(self, key: str) -> bool:
        if self.breaker.closed or await self._probe_async():
            try:
                return await self.primary.exists_async(key)
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
        return self._degraded_read(lambda cache: cache.exists(key), _validated(key, False))

    async def get_many_async(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        if self.breaker.closed or await self._probe_async():
            try:
                return await self.primary.get_many_async(wanted)
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
        return self._degraded_read(lambda cache: cache.get_many(wanted), {})

    async def get_size_async(self) -> int:
        if self.breaker.closed or await self._probe_async():
            try:
                return await self.primary.get_size_async()
            except CacheUnavailableError as exc:
                self._primary_failed(exc)
        return self._degraded_read(lambda cache: cache.get_size(), 0)

    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None:
        if self.breaker.closed or await self._probe_async():
            try:
                await self.primary.set_async(key, value, ttl)
                self.breaker.record_success()
                return
            except CacheUnavailableError as exc:
                self._primary_failed(exc, (key,))
        self._degraded_write([check_key(key)], lambda cache: cache.set(key, value, ttl), (value,), ttl)

    async def set_many_async(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        if self.breaker.closed or await self._probe_async():
            try:
                await self.primary.set_many_async(mapping, ttl)
                return
            except CacheUnavailableError as exc:
                self._primary_failed(exc, mapping.keys())
        keys = check_keys(mapping)
        self._degraded_write(keys, lambda cache: cache.set_many(mapping, ttl), mapping.values(), ttl)

    async def delete_async(self, key: str) -> bool:
        if self.breaker.closed or await self._probe_async():
            try:
                return await self.primary.delete_async(key)
            except CacheUnavailableError as exc:
                self._primary_failed(exc, (key,))
        return bool(self._degraded_write([check_key(key)], lambda cache: cache.delete(key)))

    async def delete_many_async(self, keys: Iterable[str]) -> int:
        doomed = check_keys(keys)
        if self.breaker.closed or await self._probe_async():
            try:
                return await self.primary.delete_many_async(doomed)
            except CacheUnavailableError as exc:
                self._primary_failed(exc, doomed)
        return self._degraded_write(doomed, lambda cache: cache.delete_many(doomed)) or 0

    async def clear_async(self) -> int:
        if self.breaker.closed or await self._probe_async():
            try:
                return await self.primary.clear_async()
            except CacheUnavailableError as exc:
                self._primary_failed(exc, clear=True)
        return self._degraded_write([], lambda cache: cache.clear(), clear=True) or 0

    # ---------------------------------------------------------------- state and lifetime

    def get_stats(self) -> dict[str, Any]:
        stats = self.primary.get_stats()
        with self._lock:
            pending = self._pending.describe()
        stats["resilience"] = {
            "on_error": self.on_error,
            "circuit": self.breaker.snapshot(),
            "degraded_calls": self._degraded_calls,
            "pending_invalidations": pending,
            "invalidations_replayed": self._invalidations_replayed,
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


def _validated(key: str, answer: T) -> T:
    """``answer`` (a miss) once ``key`` is known to be valid: misuse fails alike with the backend down."""
    check_key(key)
    return answer
