"""Leases: the cross-process lock a shared provider offers to compute-once, one per key.

A lease is held by whoever knows its token, for a limited time, renewable by its holder only. The
Redis provider keeps a key's lease *in the key itself*: while a value is being computed the key
holds a lease mark (a payload no reader takes for a value, so ``get`` misses and ``exists`` is
False) written with ``SET NX PX``. Hence:

* the value is written only while the lease is held - one script checks the mark and replaces it;
* a ``set``, ``delete`` or ``clear`` during the computation replaces or removes the mark, and the
  computed value is then *not* written over what came after it;
* a holder that dies (SIGKILL) leaves a mark that expires with the lease: the others wait at most
  the lease time, then one of them takes a new lease.

Providers that are not shared between processes (the memory provider) offer no leases: the
in-process flight is all the locking they need.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from src.infrastructure.cache.sentinels import MISSING

__all__ = ["MISSING", "Leases"]


class Leases(ABC):
    """Per-key leases of one cache. Every method raises what the provider raises for its backend
    (``CacheUnavailableError`` for an outage); ``token`` is any non-empty ASCII string."""

    @abstractmethod
    def acquire(self, key: str, token: str, seconds: float) -> tuple[bool, Any]:
        """Take the lease on ``key`` for ``seconds`` unless a value or another lease is there.

        Returns ``(taken, value)``: ``value`` is the value stored under ``key`` now, or
        :data:`MISSING`. ``taken`` is False when a value is stored or someone else holds the lease.
        """

    @abstractmethod
    def peek(self, key: str) -> tuple[bool, Any]:
        """``(someone holds the lease, the value stored now or MISSING)`` - for waiting holders out."""

    @abstractmethod
    def renew(self, key: str, token: str, seconds: float) -> bool:
        """Extend the lease to ``seconds`` from now if ``token`` still holds it; False if it does not."""

    @abstractmethod
    def store(self, key: str, token: str, value: Any, ttl: float | None) -> bool:
        """Write ``value`` (TTL as ``set``) in place of the lease if ``token`` still holds it.

        False, and nothing written, when the lease expired or was replaced (by a ``set``, a
        ``delete``, a ``clear`` or another holder). Raises as ``set`` does for a bad value or TTL.
        """

    @abstractmethod
    def release(self, key: str, token: str) -> None:
        """Give the lease up without a value (the computation failed or was cancelled)."""

    @abstractmethod
    def try_refresh(self, key: str, token: str, seconds: float) -> bool:
        """Take the right to refresh ``key``'s (stale or early) value for ``seconds``, unless
        another caller holds it: one refresher across processes while the old value is served."""

    @abstractmethod
    def end_refresh(self, key: str, token: str) -> None:
        """Give up the right to refresh ``key`` taken with ``token`` (a no-op if it is not held)."""

    @abstractmethod
    async def acquire_async(self, key: str, token: str, seconds: float) -> tuple[bool, Any]:
        """Async twin of :meth:`acquire`."""

    @abstractmethod
    async def peek_async(self, key: str) -> tuple[bool, Any]:
        """Async twin of :meth:`peek`."""

    @abstractmethod
    async def renew_async(self, key: str, token: str, seconds: float) -> bool:
        """Async twin of :meth:`renew`."""

    @abstractmethod
    async def store_async(self, key: str, token: str, value: Any, ttl: float | None) -> bool:
        """Async twin of :meth:`store`."""

    @abstractmethod
    async def release_async(self, key: str, token: str) -> None:
        """Async twin of :meth:`release`."""

    @abstractmethod
    async def try_refresh_async(self, key: str, token: str, seconds: float) -> bool:
        """Async twin of :meth:`try_refresh`."""

    @abstractmethod
    async def end_refresh_async(self, key: str, token: str) -> None:
        """Async twin of :meth:`end_refresh`."""
