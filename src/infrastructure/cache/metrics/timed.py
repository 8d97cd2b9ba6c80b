"""The one metric measured on the call path: each cache call's duration, as its caller saw it.

:class:`TimedCacheProvider` wraps the outermost provider of a cache (its failure policy included, so
a call the fallback answered is timed too) and records ``agent_cache.operation.duration`` for every
contract call. It is applied only when an OpenTelemetry SDK records (see
:func:`src.infrastructure.cache.metrics.instrument_cache`): without one, the cache is not wrapped
at all and its calls cost exactly what they cost before.

What a call costs with an SDK is the SDK's ``Histogram.record`` (~4-5 µs with the Python SDK 1.x,
attributes hashed and aggregated under a lock) plus two clock reads: measured by
``agent-cache bench`` (the ``metrics:`` cases) and reported in ``docs/metrics.md``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

from opentelemetry.metrics import Histogram

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.metrics.attributes import CACHE_NAME, ERROR_TYPE, OPERATION
from src.infrastructure.cache.wrappers.forwarding import ForwardingCacheProvider

P = ParamSpec("P")
T = TypeVar("T")

#: The operations timed, as ``cache.operation`` names them (async twins under the same name).
OPERATIONS = (
    "get", "set", "delete", "exists", "get_many", "set_many", "delete_many", "get_or_set",
    "clear", "get_size", "cleanup_expired",
)  # fmt: skip

_now = time.perf_counter


class TimedCacheProvider(ForwardingCacheProvider):
    """Records the duration of every call on ``inner`` under ``cache_name``; changes nothing else.

    ``get_or_set`` runs here (as on any wrapper), so its own reads and writes are timed as ``get``
    and ``set`` besides the whole call as ``get_or_set``. ``on_close(self)`` is called when the
    cache is closed (the metrics stop observing it).
    """

    def __init__(
        self,
        inner: CacheProviderBase,
        cache_name: str,
        histogram: Histogram,
        on_close: Callable[[CacheProviderBase], None] | None = None,
    ) -> None:
        super().__init__(inner)
        self.cache_name = cache_name
        self._histogram = histogram
        self._on_close = on_close
        self._attributes = {op: {CACHE_NAME: cache_name, OPERATION: op} for op in OPERATIONS}

    def __repr__(self) -> str:
        return f"TimedCacheProvider({self.inner!r}, cache_name={self.cache_name!r})"

    # ---------------------------------------------------------------- timing

    def _timed(self, operation: str, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        started = _now()
        try:
            result = call(*args, **kwargs)
        except BaseException as exc:
            self._record_failure(operation, started, exc)
            raise
        self._histogram.record(_now() - started, self._attributes[operation])
        return result

    async def _timed_async(
        self, operation: str, call: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        started = _now()
        try:
            result = await call(*args, **kwargs)
        except BaseException as exc:
            self._record_failure(operation, started, exc)
            raise
        self._histogram.record(_now() - started, self._attributes[operation])
        return result

    def _record_failure(self, operation: str, started: float, exc: BaseException) -> None:
        attributes = {**self._attributes[operation], ERROR_TYPE: type(exc).__qualname__}
        self._histogram.record(_now() - started, attributes)

    # ---------------------------------------------------------------- sync

    def get(self, key: str, default: Any = None) -> Any:
        return self._timed("get", self.inner.get, key, default)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._timed("set", self.inner.set, key, value, ttl)

    def delete(self, key: str) -> bool:
        return self._timed("delete", self.inner.delete, key)

    def exists(self, key: str) -> bool:
        return self._timed("exists", self.inner.exists, key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        return self._timed("get_many", self.inner.get_many, keys)

    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        self._timed("set_many", self.inner.set_many, mapping, ttl)

    def delete_many(self, keys: Iterable[str]) -> int:
        return self._timed("delete_many", self.inner.delete_many, keys)

    def get_or_set(
        self, key: str, compute: Callable[[], Any], ttl: float | None = None, **options: Any
    ) -> Any:
        return self._timed("get_or_set", super().get_or_set, key, compute, ttl, **options)

    def clear(self) -> int:
        return self._timed("clear", self.inner.clear)

    def get_size(self) -> int:
        return self._timed("get_size", self.inner.get_size)

    def cleanup_expired(self) -> int:
        return self._timed("cleanup_expired", self.inner.cleanup_expired)

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            if self._on_close is not None:
                self._on_close(self)

    # ---------------------------------------------------------------- async twins

    async def get_async(self, key: str, default: Any = None) -> Any:
        return await self._timed_async("get", self.inner.get_async, key, default)

    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self._timed_async("set", self.inner.set_async, key, value, ttl)

    async def delete_async(self, key: str) -> bool:
        return await self._timed_async("delete", self.inner.delete_async, key)

    async def exists_async(self, key: str) -> bool:
        return await self._timed_async("exists", self.inner.exists_async, key)

    async def get_many_async(self, keys: Iterable[str]) -> dict[str, Any]:
        return await self._timed_async("get_many", self.inner.get_many_async, keys)

    async def set_many_async(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        await self._timed_async("set_many", self.inner.set_many_async, mapping, ttl)

    async def delete_many_async(self, keys: Iterable[str]) -> int:
        return await self._timed_async("delete_many", self.inner.delete_many_async, keys)

    async def get_or_set_async(
        self, key: str, compute: Callable[[], Any | Awaitable[Any]], ttl: float | None = None, **options: Any
    ) -> Any:
        return await self._timed_async("get_or_set", super().get_or_set_async, key, compute, ttl, **options)

    async def clear_async(self) -> int:
        return await self._timed_async("clear", self.inner.clear_async)

    async def get_size_async(self) -> int:
        return await self._timed_async("get_size", self.inner.get_size_async)

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            if self._on_close is not None:
                self._on_close(self)
