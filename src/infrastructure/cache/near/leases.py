"""Compute-once's leases through a near cache: the Redis cache's own, dropping what they write.

A lease's scripts write the data key itself (the lease mark, then the computed value in its
place), going round the near cache's ``set``. So each lease call that may write drops the key's
near entry before it returns, as ``set`` does: this process never serves the value a computation
replaced, and a read in flight does not store what it fetched before the write.
"""

from __future__ import annotations

from typing import Any

from src.infrastructure.cache.compute.leases import Leases
from src.infrastructure.cache.near.store import NearStore
from src.infrastructure.cache.providers.redis.near_source import NearSource


class NearLeases(Leases):
    """``leases`` of the cache (or namespace) ``source`` reads, with ``store`` kept coherent."""

    def __init__(self, leases: Leases, source: NearSource, store: NearStore) -> None:
        self._leases = leases
        self._source = source
        self._store = store

    def _drop(self, key: str) -> None:
        self._store.drop((self._source.name(key),))

    # ---------------------------------------------------------------- sync

    def acquire(self, key: str, token: str, seconds: float) -> tuple[bool, Any]:
        try:
            return self._leases.acquire(key, token, seconds)
        finally:
            self._drop(key)

    def peek(self, key: str) -> tuple[bool, Any]:
        return self._leases.peek(key)

    def renew(self, key: str, token: str, seconds: float) -> bool:
        return self._leases.renew(key, token, seconds)

    def store(self, key: str, token: str, value: Any, ttl: float | None) -> bool:
        try:
            return self._leases.store(key, token, value, ttl)
        finally:
            self._drop(key)

    def release(self, key: str, token: str) -> None:
        try:
            self._leases.release(key, token)
        finally:
            self._drop(key)

    # The refresh lock (stale-while-revalidate, XFetch) is a key beside the entry: nothing near to
    # drop; the refreshed value is written with the cache's own set, which drops the near copy.

    def try_refresh(self, key: str, token: str, seconds: float) -> bool:
        return self._leases.try_refresh(key, token, seconds)

    def end_refresh(self, key: str, token: str) -> None:
        self._leases.end_refresh(key, token)

    # ---------------------------------------------------------------- async

    async def acquire_async(self, key: str, token: str, seconds: float) -> tuple[bool, Any]:
        try:
            return await self._leases.acquire_async(key, token, seconds)
        finally:
            self._drop(key)

    async def peek_async(self, key: str) -> tuple[bool, Any]:
        return await self._leases.peek_async(key)

    async def renew_async(self, key: str, token: str, seconds: float) -> bool:
        return await self._leases.renew_async(key, token, seconds)

    async def store_async(self, key: str, token: str, value: Any, ttl: float | None) -> bool:
        try:
            return await self._leases.store_async(key, token, value, ttl)
        finally:
            self._drop(key)

    async def release_async(self, key: str, token: str) -> None:
        try:
            await self._leases.release_async(key, token)
        finally:
            self._drop(key)

    async def try_refresh_async(self, key: str, token: str, seconds: float) -> bool:
        return await self._leases.try_refresh_async(key, token, seconds)

    async def end_refresh_async(self, key: str, token: str) -> None:
        await self._leases.end_refresh_async(key, token)
