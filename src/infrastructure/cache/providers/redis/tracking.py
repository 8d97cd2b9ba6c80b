"""The near cache's invalidation connection: ``CLIENT TRACKING ... BCAST`` on a connection of its own.

With ``BCAST PREFIX <key_prefix>`` the server tells this connection the name of every key under the
prefix that changes - written, deleted, expired or evicted, by any client, this process's own
included - and keeps no per-key record of who read what. How the messages arrive depends on the
protocol:

* RESP3 (``protocol: 3``): ``CLIENT TRACKING ON BCAST PREFIX p``; invalidations are push messages
  on this very connection (redis-py hands them to the parser's invalidation handler).
* RESP2 (``protocol: 2``): a RESP2 connection cannot receive pushes between replies, so it
  redirects its own tracking to itself (``CLIENT TRACKING ON REDIRECT <its id> ...``) and then
  subscribes to ``__redis__:invalidate``, where the server publishes them. Tracking comes first:
  a subscribed RESP2 connection accepts no other command.

The connection is redis-py's own, from a pool of one built like the cache's (address or URL,
credentials, TLS, timeouts; for Sentinel, the master the sentinels name on each connect, so it
follows a failover when it reconnects), named ``agent-cache-near`` (``CLIENT LIST`` shows it).
Every method raises redis-py's errors (or ``OSError``); the listener treats any of them as a gap.
One thread uses it; :meth:`TrackingConnection.interrupt` alone may be called from another.
"""

from __future__ import annotations

import socket
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Final

from redis.exceptions import ConnectionError, ResponseError

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.client_factory import build_sync_client

#: ``CLIENT SETNAME`` of every invalidation connection.
CLIENT_NAME: Final = "agent-cache-near"
#: Where RESP2 tracking publishes invalidations.
CHANNEL: Final = b"__redis__:invalidate"


@dataclass(frozen=True, slots=True)
class Invalidation:
    """Keys that changed; ``names`` None means every key (the server flushed a database)."""

    names: list[bytes] | None


class TrackingRefused(Exception):
    """The server refused to turn tracking on (an ACL without the commands, a proxy that does not
    know them): a setting to change, not an outage."""


class Pong:
    """The answer to :meth:`TrackingConnection.ping`."""


PONG: Final = Pong()


class TrackingConnection:
    """One dedicated connection tracking ``prefix`` (see the module's docstring)."""

    def __init__(self, config: RedisCacheConfig, prefix: bytes, protocol: int) -> None:
        """Builds the client; dials nothing until :meth:`open`."""
        client = build_sync_client(
            config, protocol=protocol, client_name=CLIENT_NAME, max_connections=1, health_check_interval=0
        )
        self._pool: Any = client.connection_pool
        self._sentinel = config.mode == "sentinel"
        self._prefix = prefix
        self._protocol = protocol
        self._connection: Any = None

    def open(self) -> None:
        """Connect and turn tracking on; when this returns, every later change under the prefix
        will be reported by :meth:`read`. :class:`TrackingRefused` if the server says no."""
        self._connection = self._pool.get_connection()
        try:
            self._turn_tracking_on()
        except ResponseError as exc:
            raise TrackingRefused(
                f"{exc} (the near cache's connection needs CLIENT ID and CLIENT TRACKING, and with "
                "protocol 2 SUBSCRIBE to the channel __redis__:invalidate: "
                "+client|id +client|tracking +subscribe &__redis__:invalidate)"
            ) from exc

    def _turn_tracking_on(self) -> None:
        connection = self._connection
        tracking = ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", self._prefix]
        if self._protocol == 3:
            # redis-py's own client-side cache registers its handler the same way.
            connection._parser.set_invalidation_push_handler(_invalidation)
            self._command(*tracking)
            return
        own_id = self._command("CLIENT", "ID")
        self._command(*tracking[:3], "REDIRECT", own_id, *tracking[3:])
        connection.send_command("SUBSCRIBE", CHANNEL)
        kind, channel, _count = connection.read_response()
        if kind != b"subscribe" or channel != CHANNEL:
            raise ResponseError(f"unexpected reply to SUBSCRIBE {CHANNEL!r}: {kind!r} {channel!r}")

    def _command(self, *args: Any) -> Any:
        self._connection.send_command(*args)
        return self._connection.read_response()

    def read(self, timeout: float) -> Invalidation | Pong | None:
        """The next message, waiting at most ``timeout`` seconds for one to start; None if none did
        (or if the server sent something else, which is ignored)."""
        connection = self._connection
        if not connection.can_read(timeout=timeout):
            return None
        if self._protocol == 3:
            return _reply3(connection.read_response(push_request=True))
        return _reply2(connection.read_response())

    def ping(self) -> None:
        """Send a PING, whose answer comes through :meth:`read` as :data:`PONG`.

        With Sentinel, first ask the sentinels which server is master: if it is no longer this
        connection's, raise ``ConnectionError`` (a graceful failover leaves the old master up,
        serving this connection, until the sentinels reconfigure it - ~10 s - while the others
        already write to the new one)."""
        if self._sentinel:
            master = self._pool.get_master_address()
            here = (self._connection.host, self._connection.port)
            if tuple(master) != here:
                raise ConnectionError(f"the sentinels name another master now ({master[0]}:{master[1]})")
        self._connection.send_command("PING")

    def close(self) -> None:
        """Close the connection (the server drops its tracking with it); :meth:`open` reconnects."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.disconnect()
            self._pool.release(connection)

    def interrupt(self) -> None:
        """From another thread: wake a :meth:`read` in progress, which then raises (the socket is
        shut down, not closed: its owner closes it)."""
        sock = getattr(self._connection, "_sock", None)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _invalidation(push: Any) -> Invalidation:
    """RESP3 push ``["invalidate", names or null]`` as read by redis-py's parser."""
    return Invalidation(_names(push[1]))


def _names(names: Any) -> list[bytes] | None:
    return None if names is None else list(names)


def _reply3(reply: Any) -> Invalidation | Pong | None:
    if isinstance(reply, Invalidation):
        return reply
    return PONG if reply in (b"PONG", "PONG") else None


def _reply2(reply: Any) -> Invalidation | Pong | None:
    if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message" and reply[1] == CHANNEL:
        return Invalidation(_names(reply[2]))
    if isinstance(reply, list) and reply and reply[0] == b"pong":
        return PONG
    return None
