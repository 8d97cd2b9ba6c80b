"""The cache contract every agent-cache provider honours, and the errors it may raise.

Services depend on :class:`ICacheProvider` only; they never import a provider or a client library.

Rules that hold for every method of every provider:

* **Keys** are non-empty ``str``. Anything else raises ``TypeError`` (wrong type) or ``ValueError``
  (empty, or longer than the provider allows), with the offending key in the message.
* **TTL** (seconds): ``None`` means the provider's configured ``default_ttl``; a positive ``int`` or
  ``float`` expires the entry after that long, honoured to the millisecond; ``0`` means the entry never
  expires. A negative, NaN, infinite or non-numeric TTL (``bool`` included), or one above
  10,000,000,000 s (about 317 years), raises ``ValueError`` and nothing is written: every provider
  takes exactly the same TTLs.
* **Values** are what the msgpack serializer carries: ``None``, ``bool``, ``int`` (64-bit), ``float``,
  ``str``, ``bytes``, ``list``, ``tuple`` (read back as a ``list``) and ``dict`` (keys of any of those
  scalar types; tuple keys read back as tuples), nested freely. Anything else raises
  :class:`CacheSerializationError` and nothing is written. A value read back equals the value as it was
  when it was set, even if the caller mutates its object afterwards.
* **None is a value.** ``get`` cannot tell a stored ``None`` from a miss when ``default`` is ``None``;
  ``exists`` and ``get(key, default=sentinel)`` can.
* **Errors**: callers see only the exception types defined here, plus ``TypeError``/``ValueError`` for
  misuse; never one of a client library. The original error is chained as ``__cause__``.
  :class:`CacheUnavailableError` means "cannot reach the backend now" (an outage, which a failure
  policy may absorb); :class:`CacheAccessError` means "refused for who we are" (a misconfiguration,
  which always reaches the caller, whatever the failure policy: a fallback never hides it).
* Every sync method has an ``_async`` twin with the same behaviour, safe to await from any event loop.
  Tests keep the twins in step: the contract suite runs every test through both (``tests/colours.py``),
  and ``tests/unit/test_twin_parity.py`` compares each pair's code, listing why any pair differs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any


class CacheError(Exception):
    """Base class of every error agent-cache raises on purpose."""


class CacheConfigError(CacheError, ValueError):
    """The configuration is invalid. The message names the key path (or variable) and the bad value."""


class CacheSerializationError(CacheError, TypeError):
    """A value cannot be stored: its type is not supported, or it is larger than the provider allows."""


class CacheUnavailableError(CacheError):
    """The cache backend cannot be reached or did not answer in time (refused, timed out, pool exhausted)."""


class CacheAccessError(CacheError):
    """The backend refused us for who we are: wrong password, ACL denial, untrusted or rejected certificate.

    Not a :class:`CacheUnavailableError`: retrying will not help and a fallback would hide the
    misconfiguration, so no failure policy absorbs it. The message never contains a secret.
    """


class ICacheProvider(ABC):
    """A key-value cache with per-entry TTL, usable from sync and async code alike."""

    #: Short name of the provider implementation, e.g. ``"memory"`` or ``"redis"``.
    name: str

    # ---------------------------------------------------------------- single keys

    @abstractmethod
    def get(self, key: str, default: Any = None) -> Any:
        """Return the value stored under ``key``, or ``default`` when it is absent or expired.

        A payload that cannot be decoded (written by another program) is a miss: logged with its key,
        counted in ``get_stats()['errors']``, never raised.
        """

    @abstractmethod
    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any previous value and its TTL.

        Raises :class:`CacheSerializationError` (nothing written) for an unsupported or oversized value.
        """

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove ``key``. Returns ``True`` if a live entry was removed, ``False`` if there was none."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Return ``True`` if a live entry (possibly holding ``None``) is stored under ``key``."""

    # ---------------------------------------------------------------- compute once

    @abstractmethod
    def get_or_set(
        self, key: str, compute: Callable[[], Any], ttl: float | None = None, **options: Any
    ) -> Any:
        """Return the value of ``key``; on a miss, call ``compute()``, store its result and return it.

        A hit costs what a ``get`` costs (a cached ``None`` is a hit). On a miss, at most one
        computation per key runs at a time among every caller sharing the cache - threads and tasks
        of this process, and other processes sharing a Redis namespace (a lease in Redis, with a
        token and a time limit) - and every caller gets the computed value. A waiter waits at most
        ``wait_timeout`` seconds, then computes itself. A failing ``compute`` raises to its caller
        and to the callers of this process sharing its computation; nothing is cached. ``compute``
        must be a zero-argument callable returning a cacheable value (not an awaitable).

        ``options`` override the cache's compute settings for this call: ``lease_ttl``,
        ``wait_timeout``, ``stale_ttl``, ``stale_while_revalidate``, ``stale_if_error``, ``beta``;
        an unknown option raises ``TypeError``. Counters are in ``get_stats()['compute']``.
        """

    @abstractmethod
    async def get_or_set_async(
        self, key: str, compute: Callable[[], Any | Awaitable[Any]], ttl: float | None = None, **options: Any
    ) -> Any:
        """Async twin of :meth:`get_or_set`; ``compute`` may return an awaitable.

        Cancelling a waiting caller cancels only its wait, never the shared computation; cancelling
        the computing caller releases its lease, and a waiter takes over.
        """

    # ---------------------------------------------------------------- batches

    @abstractmethod
    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return ``{key: value}`` for the keys that are present; missing keys are absent from the dict.

        Duplicate keys are looked up once. Every key is validated before anything is read.
        """

    @abstractmethod
    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        """Store every item of ``mapping`` with the same TTL.

        All keys and values are validated and serialized before anything is written, so a bad item
        raises and writes nothing.
        """

    @abstractmethod
    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove the given keys; returns how many live entries were removed (absent keys count 0)."""

    @abstractmethod
    def check_write(self, values: Iterable[Any], ttl: float | None = None) -> None:
        """Raise what a write of ``values`` with ``ttl`` would raise for its input, writing nothing.

        ``ValueError`` for a bad TTL, :class:`CacheSerializationError` for an unsupported or
        oversized value; returns None when such a write would be accepted. Touches no backend, so
        a wrapper can refuse bad input alike while the backend is down.
        """

    # ---------------------------------------------------------------- namespaces

    @abstractmethod
    def namespace(self, name: str) -> ICacheProvider:
        """A view of this cache whose entries live in their own scope ``name``; views nest.

        ``cache.namespace("tenant:acme").namespace("agent:7").namespace("session:42")`` offers the
        whole contract (compute-once included). Its keys never meet this cache's nor another
        namespace's. ``clear()`` on a namespace removes exactly its entries and its children's, in
        time proportional to them - never a walk of the whole database; ``clear()`` on the cache
        removes every namespace's entries too. ``get_size()`` counts what ``get`` can return: the
        namespace's own entries, not its children's. Reads and writes in a namespace cost one round
        trip, as in the cache. A view shares the cache's connections, counters and compute-once:
        making one is cheap, and ``close()`` on a view releases nothing.

        ``name``: a non-empty ``str`` of at most 200 characters (``TypeError``/``ValueError``
        otherwise); namespaces nest at most 16 deep.
        """

    # ---------------------------------------------------------------- whole cache

    @abstractmethod
    def clear(self) -> int:
        """Remove every entry of this provider's namespace and nothing else; returns how many it removed."""

    @abstractmethod
    def get_size(self) -> int:
        """Return the number of live entries in this provider's namespace."""

    @abstractmethod
    def cleanup_expired(self) -> int:
        """Purge expired entries now; returns how many were purged (0 where the backend expires by itself)."""

    @abstractmethod
    def get_stats(self) -> dict[str, Any]:
        """Return counters and facts about this provider.

        Always holds ``provider``, ``hits``, ``misses``, ``hit_rate`` (hits / lookups, 0.0 before any),
        ``sets``, ``deletes`` and ``errors``; providers add their own keys. Counters are exact under
        concurrent threads and tasks. Never contains a secret.
        """

    @abstractmethod
    def health(self) -> dict[str, Any]:
        """Check the backend now and report ``{"provider", "healthy": bool, "detail": str, ...}``.

        Never raises for an unreachable backend: that is ``healthy: False``.
        """

    @abstractmethod
    def close(self) -> None:
        """Release every resource (pools, connections). Idempotent. Later calls may raise."""

    # ---------------------------------------------------------------- async twins

    @abstractmethod
    async def get_async(self, key: str, default: Any = None) -> Any:
        """Async twin of :meth:`get`."""

    @abstractmethod
    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Async twin of :meth:`set`."""

    @abstractmethod
    async def delete_async(self, key: str) -> bool:
        """Async twin of :meth:`delete`."""

    @abstractmethod
    async def exists_async(self, key: str) -> bool:
        """Async twin of :meth:`exists`."""

    @abstractmethod
    async def get_many_async(self, keys: Iterable[str]) -> dict[str, Any]:
        """Async twin of :meth:`get_many`."""

    @abstractmethod
    async def set_many_async(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        """Async twin of :meth:`set_many`."""

    @abstractmethod
    async def delete_many_async(self, keys: Iterable[str]) -> int:
        """Async twin of :meth:`delete_many`."""

    @abstractmethod
    async def clear_async(self) -> int:
        """Async twin of :meth:`clear`."""

    @abstractmethod
    async def get_size_async(self) -> int:
        """Async twin of :meth:`get_size`."""

    @abstractmethod
    async def aclose(self) -> None:
        """Async twin of :meth:`close`: releases every resource, the async ones included."""


# The decorator over this contract, importable from here (``from src.interfaces.llm.cache import
# cached``). Last, after every definition: cached.py needs ICacheProvider, and it imports this module
# lazily (see its docstring), so either module may be imported first.
from src.interfaces.llm.cached import cached as cached  # noqa: E402, PLC0414 - an explicit re-export
