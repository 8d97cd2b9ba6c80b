"""Connections to Redis, shared by the caches that reach the same server in the same way.

A :class:`RedisConnections` is everything a cache needs to talk to Redis: the sync transport (one
thread-safe pool) and one async transport per event loop, each loop's with its :class:`Coalescer`
(``loop_transports``). It is built from a config's *connection settings* only (address or URL,
db, credentials, TLS, mode, timeouts, retries, pool: :func:`connection_key`); a cache's namespace
(``key_prefix``), TTLs and failure policy stay the cache's own. So caches that differ only in those
can share one set of pools: named caches on one server open one sync pool and one async pool per
event loop between them, not one each.

Ownership, which is what decides when connections are closed:

* A cache holds a :class:`ConnectionShare`. :meth:`ConnectionRegistry.acquire` hands out one share
  per call, of the registry's one ``RedisConnections`` for that config's connection settings; a
  cache built without a share makes its own private ``RedisConnections`` and holds its only share.
* ``share.close()`` / ``await share.aclose()`` (what the cache's ``close()``/``aclose()`` call)
  give the share up, then close the connections only if no share is held any more: closing one
  cache leaves every other cache of those connections working, untouched. The last one's close
  closes them as a cache's close always did: idle connections now, busy ones when their call
  returns them (``pools``), never under a call in flight.
* Nothing is ever closed for good: a cache used after its close, or a share acquired after every
  share was given up, reconnects through the same pools (and a later close of a given-up share
  closes them again, provided no share is held then either).

Thread-safe: the registry and the share count are guarded by locks taken only to acquire and give
up shares, never on a call to Redis.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.client_factory import async_transport_for, sync_transport_for
from src.infrastructure.cache.providers.redis.loop_transports import LoopTransports
from src.infrastructure.cache.providers.redis.transport import SyncTransport

#: Comparable and hashable; holds secrets, so it is never shown (no repr of ours prints it).
ConnectionKey = tuple[tuple[str, Any], ...]


def connection_key(config: RedisCacheConfig) -> ConnectionKey:
    """``(name, value)`` of every connection setting of ``config``: equal keys, shared connections.

    The config decides which of its settings are connection settings (``connection_key``), so a
    setting added to it later is part of the key without a change here."""
    return config.connection_key()


class RedisConnections:
    """The sync transport and the per-loop async transports of one set of connection settings.

    Build it with ``RedisConnections(config)`` (it dials nothing), then hand each cache a
    :meth:`share`; or get shares from a :class:`ConnectionRegistry`.
    """

    def __init__(self, config: RedisCacheConfig) -> None:
        self.key = connection_key(config)
        #: The one thread-safe transport of sync calls.
        self.sync: SyncTransport = sync_transport_for(config)
        #: The async transports (and coalescers), one per event loop.
        self.loops = LoopTransports(partial(async_transport_for, config))
        self._lock = threading.Lock()
        self._holders = 0

    def __repr__(self) -> str:
        return f"RedisConnections(holders={self._holders})"

    @property
    def holders(self) -> int:
        """How many shares are held now: the caches using these connections."""
        return self._holders

    def share(self) -> ConnectionShare:
        """A new share, held until its ``close()``/``aclose()``."""
        with self._lock:
            self._holders += 1
        return ConnectionShare(self)

    def _give_up(self, share: ConnectionShare) -> bool:
        """Give ``share`` up (once); return True if no share is held any more."""
        with self._lock:
            if share.held:
                share.held = False
                self._holders -= 1
            return self._holders == 0

    def close(self) -> None:
        """Close the sync pool's connections and the async pools' that can be closed without
        awaiting (``LoopTransports.release``); calls in flight complete, later calls reconnect."""
        self.sync.close_connections()
        self.loops.release()

    async def aclose(self) -> None:
        """Close the running loop's connections, then everything :meth:`close` closes."""
        await self.loops.aclose_current()
        self.sync.close_connections()
        self.loops.release()


class ConnectionShare:
    """One cache's hold on a :class:`RedisConnections` (see the module's docstring)."""

    __slots__ = ("connections", "held")

    def __init__(self, connections: RedisConnections) -> None:
        self.connections = connections
        self.held = True

    def __repr__(self) -> str:
        return f"ConnectionShare(held={self.held}, {self.connections!r})"

    def close(self) -> None:
        """Give this share up; close the connections if no other share is held."""
        if self.connections._give_up(self):
            self.connections.close()

    async def aclose(self) -> None:
        """Async twin of :meth:`close`: the running loop's connections are closed too."""
        if self.connections._give_up(self):
            await self.connections.aclose()


class ConnectionRegistry:
    """One :class:`RedisConnections` per set of connection settings, for caches to share.

    ``acquire(config)`` returns a new share of the connections for ``config``'s settings, building
    them on first request (nothing dials until used). The registry keeps them for its lifetime,
    held or not, so a later ``acquire`` shares the same pools again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[ConnectionKey, RedisConnections] = {}

    def __repr__(self) -> str:
        return f"ConnectionRegistry(connections={len(self._by_key)})"

    def acquire(self, config: RedisCacheConfig) -> ConnectionShare:
        """A share of the connections for ``config``'s connection settings; pass it to one cache
        (``RedisCacheProvider(config, connections=share)``), which gives it up on ``close()``."""
        key = connection_key(config)
        with self._lock:
            connections = self._by_key.get(key)
            if connections is None:
                connections = self._by_key[key] = RedisConnections(config)
            return connections.share()

    def __len__(self) -> int:
        """How many distinct sets of connections the registry holds."""
        return len(self._by_key)
