"""The base of every wrapper: a provider that forwards the whole contract to an inner provider.

A wrapper (failure policy, near cache, metrics) changes one concern of the provider it wraps. It
subclasses :class:`ForwardingCacheProvider` and overrides only the methods that concern touches;
everything else reaches ``inner`` unchanged, sync and async alike. Modelled on dogpile.cache's
``ProxyBackend``. Wrappers compose by nesting: ``Metrics(Resilient(Redis(...)))``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.codec import StoredEntry
from src.infrastructure.cache.compute.leases import Leases


class ForwardingCacheProvider(CacheProviderBase):
    """Implements the contract (``ICacheProvider``) by calling the same method of ``inner``.

    ``name`` is the inner provider's, so a wrapped Redis provider still reports ``redis``.
    ``get_or_set`` is not forwarded: it runs here, over this wrapper's own reads and writes, with
    the inner provider's compute settings and leases.
    """

    def __init__(self, inner: CacheProviderBase) -> None:
        super().__init__(inner.compute.settings)
        self.inner = inner
        self.name = inner.name

    def leases(self) -> Leases | None:
        return self.inner.leases()

    @property
    def default_ttl(self) -> float:
        return self.inner.default_ttl

    def namespace(self, name: str) -> ForwardingCacheProvider:
        """This wrapper around the inner provider's namespace ``name``: a shallow copy, so it shares
        this wrapper's state (a breaker, counters, instruments), with its own compute-once entry
        point over its own reads and writes. A wrapper whose state must know the path (or which
        wraps more than ``inner``) extends this."""
        view = copy.copy(self)
        view.inner = self.inner.namespace(name)
        view.path = view.inner.path
        view._adopt_compute(self)
        return view

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"

    # ---------------------------------------------------------------- single keys

    def get(self, key: str, default: Any = None) -> Any:
        return self.inner.get(key, default)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.inner.set(key, value, ttl)

    def delete(self, key: str) -> bool:
        return self.inner.delete(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def get_entry(self, key: str) -> StoredEntry | Any:
        return self.inner.get_entry(key)

    # ---------------------------------------------------------------- batches

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        return self.inner.get_many(keys)

    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        self.inner.set_many(mapping, ttl)

    def delete_many(self, keys: Iterable[str]) -> int:
        return self.inner.delete_many(keys)

    def check_write(self, values: Iterable[Any], ttl: float | None = None) -> None:
        self.inner.check_write(values, ttl)

    # ---------------------------------------------------------------- whole cache

    def clear(self) -> int:
        return self.inner.clear()

    def get_size(self) -> int:
        return self.inner.get_size()

    def cleanup_expired(self) -> int:
        return self.inner.cleanup_expired()

    def get_stats(self) -> dict[str, Any]:
        return self._with_compute_stats(self.inner.get_stats())

    def health(self) -> dict[str, Any]:
        return self.inner.health()

    def close(self) -> None:
        self.inner.close()

    # ---------------------------------------------------------------- async twins

    async def get_async(self, key: str, default: Any = None) -> Any:
        return await self.inner.get_async(key, default)

    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self.inner.set_async(key, value, ttl)

    async def delete_async(self, key: str) -> bool:
        return await self.inner.delete_async(key)

    async def exists_async(self, key: str) -> bool:
        return await self.inner.exists_async(key)

    async def get_entry_async(self, key: str) -> StoredEntry | Any:
        return await self.inner.get_entry_async(key)

    async def get_many_async(self, keys: Iterable[str]) -> dict[str, Any]:
        return await self.inner.get_many_async(keys)

    async def set_many_async(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        await self.inner.set_many_async(mapping, ttl)

    async def delete_many_async(self, keys: Iterable[str]) -> int:
        return await self.inner.delete_many_async(keys)

    async def clear_async(self) -> int:
        return await self.inner.clear_async()

    async def get_size_async(self) -> int:
        return await self.inner.get_size_async()

    async def aclose(self) -> None:
        await self.inner.aclose()
