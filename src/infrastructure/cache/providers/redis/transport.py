"""The transport boundary: what the Redis provider asks of a connection to Redis, whatever the mode.

Everything under ``providers/redis`` talks to Redis through one of these two interfaces, never
through a redis-py client directly. Which implementation stands behind them is decided once, when
``client_factory`` builds it from the config's ``mode``:

* one server, standalone or the master a Sentinel names: ``server_transport.RedisTransport`` (and
  ``SentinelTransport``, which adds the sentinels' view of the topology) over ``redis.Redis``;
* a Redis Cluster: ``cluster_client.ClusterTransport`` over redis-py's ``RedisCluster``.

So the modes' differences (MGET by slot on a cluster; a Lua script or a pipeline for a batch of
SETs; SCAN of one server or of every primary; how pools count and close their connections) live in
those classes alone, and no other module asks which kind of client it holds.

Every method raises redis-py's own errors (``errors.BACKEND_ERRORS``); the callers translate them.
Names are the Redis keys (bytes); replies are never decoded.

An implementation may provide the commands as attributes holding callables, not as methods: the
standalone transports hand out redis-py's bound methods themselves, so the hot path
(``get``/``set``/``mget``) pays no call layer of ours. (So the async interface declares plain
methods returning awaitables: a coroutine method and a bound redis.asyncio method both fit.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from typing import Any, Protocol

#: What a GET or an MGET reply holds for one key: redis-py declares ``str`` too (for clients that
#: decode replies, which ours never do).
Reply = bytes | str | None


class SyncTransport(Protocol):
    """A thread-safe connection (a pool of them) to one Redis deployment, for blocking calls."""

    def get(self, name: bytes, /) -> Reply:
        """``GET name``."""
        ...

    def set(self, name: bytes, value: bytes, /, *, px: int | None = None) -> Any:
        """``SET name value [PX px]``: no expiry for ``px=None``."""
        ...

    def getrange(self, name: bytes, start: int, end: int, /) -> bytes | str:
        """``GETRANGE name start end`` (``b""`` for a missing key)."""
        ...

    def get_with_pttl(self, name: bytes, /) -> tuple[Reply, int]:
        """``GET name`` and ``PTTL name`` in one round trip, for the near cache: the reply, and the
        milliseconds the key has left (-1: no expiry; -2: no key)."""
        ...

    def mget(self, names: list[bytes], /) -> list[Reply]:
        """The values of ``names``, in their order (one round trip per node on a cluster)."""
        ...

    def unlink(self, *names: bytes) -> int:
        """Remove ``names``; return how many existed."""
        ...

    def write_batch(
        self, names: Sequence[bytes], payloads: Sequence[bytes], pxs: Sequence[int | None], /
    ) -> None:
        """Write ``names[i] = payloads[i]``, each with its TTL ``pxs[i]`` in ms (None: no expiry),
        each in one ``SET ... PX``. How (a script or a pipeline) is the transport's decision."""
        ...

    def run_script(self, source: str, keys: Sequence[bytes], args: Sequence[Any], /) -> Any:
        """Run the Lua script ``source`` with ``KEYS`` = ``keys`` (all in one cluster slot: it runs
        on ``keys[0]``'s node) and ``ARGV`` = ``args``; loaded on first use, and again after the
        server lost it."""
        ...

    def scan_pages(self, match: bytes, count: int) -> Iterator[list[bytes]]:
        """Pages of ``SCAN MATCH match COUNT count`` over the whole keyspace (every primary of a
        cluster). A key may appear twice; a page may be empty."""
        ...

    def ping(self) -> bool:
        """``PING`` (every node of a cluster)."""
        ...

    def pool_usage(self) -> tuple[int, int]:
        """``(connections in use, idle connections)`` over every pool; a snapshot, for stats."""
        ...

    def close_connections(self) -> None:
        """Close every connection without breaking a call in flight: idle ones now, busy ones when
        their call returns them (see ``pools``). Later calls reconnect."""
        ...

    def topology(self) -> dict[str, Any] | None:
        """The deployment as its servers describe it now (nodes and roles), or None for one
        standalone server, which has nothing to tell. May do round trips, and raise."""
        ...


class AsyncTransport(Protocol):
    """The asyncio twin of :class:`SyncTransport`, for one event loop (its connections belong to it)."""

    def get(self, name: bytes, /) -> Awaitable[Reply]:
        """``GET name``."""
        ...

    def set(self, name: bytes, value: bytes, /, *, px: int | None = None) -> Awaitable[Any]:
        """``SET name value [PX px]``."""
        ...

    def getrange(self, name: bytes, start: int, end: int, /) -> Awaitable[bytes | str]:
        """``GETRANGE name start end``."""
        ...

    def get_with_pttl(self, name: bytes, /) -> Awaitable[tuple[Reply, int]]:
        """Async twin of :meth:`SyncTransport.get_with_pttl`."""
        ...

    def mget(self, names: list[bytes], /) -> Awaitable[list[Reply]]:
        """The values of ``names``, in their order."""
        ...

    def unlink(self, *names: bytes) -> Awaitable[int]:
        """Remove ``names``; return how many existed."""
        ...

    def write_batch(
        self, names: Sequence[bytes], payloads: Sequence[bytes], pxs: Sequence[int | None], /
    ) -> Awaitable[None]:
        """Async twin of :meth:`SyncTransport.write_batch`."""
        ...

    def run_script(self, source: str, keys: Sequence[bytes], args: Sequence[Any], /) -> Awaitable[Any]:
        """Async twin of :meth:`SyncTransport.run_script`."""
        ...

    def scan_pages(self, match: bytes, count: int) -> AsyncIterator[list[bytes]]:
        """Async twin of :meth:`SyncTransport.scan_pages`."""
        ...

    def pool_usage(self) -> tuple[int, int]:
        """``(connections in use, idle connections)``; readable from any thread, for stats."""
        ...

    def close_connections(self) -> Awaitable[None]:
        """Async twin of :meth:`SyncTransport.close_connections`; run it on the transport's loop."""
        ...

    def aclose(self) -> Awaitable[None]:
        """Close every connection for good, in-use ones included: for the loop's shutdown only."""
        ...
