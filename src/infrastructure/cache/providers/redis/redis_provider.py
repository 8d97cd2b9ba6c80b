"""The shared provider: entries live in Redis under ``key_prefix``, reached through redis-py."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any, cast

from redis.utils import HIREDIS_AVAILABLE

from src.infrastructure.cache import serialization
from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.client_factory import (
    build_async_client,
    build_sync_client,
    pool_usage,
    server_label,
)
from src.infrastructure.cache.providers.redis.errors import BACKEND_ERRORS, error_kind, translate
from src.infrastructure.cache.providers.redis.keyspace import KeySpace
from src.infrastructure.cache.providers.redis.loop_clients import LoopClients
from src.infrastructure.cache.stats import CacheStats
from src.infrastructure.cache.validation import check_key, check_keys, resolve_ttl
from src.interfaces.llm.cache import CacheError, CacheSerializationError, ICacheProvider

logger = logging.getLogger(__name__)

_MISSING = object()
#: What redis-py declares a GET reply to be. With ``decode_responses`` off (always, here) it is
#: ``bytes | None``; the declared type also allows ``str`` for clients that decode.
_Reply = bytes | str | None


class RedisCacheProvider(ICacheProvider):
    """A cache shared by every process that uses the same server, database and ``key_prefix``.

    Each entry is one Redis string holding the msgpack payload, written with its TTL in a single
    ``SET ... PX`` so a value never exists without its expiry. Batches are one round trip (MGET,
    a non-transactional pipeline of SETs, UNLINK). Redis expires entries itself.

    Constructing the provider opens no connection: the pools dial on first use. Sync methods share
    one thread-safe blocking pool; async methods use one pool per event loop (see ``loop_clients``).
    Every failure to reach Redis in time surfaces as ``CacheUnavailableError`` within the configured
    socket timeouts, pool timeout and retries.
    """

    name = "redis"

    def __init__(self, config: RedisCacheConfig) -> None:
        self.config = config
        self._stats = CacheStats()
        self._keys = KeySpace(config.key_prefix)
        self._default_ttl = config.default_ttl
        self._server = server_label(config)
        self._client = build_sync_client(config)
        self._db = self._client.connection_pool.connection_kwargs.get("db", config.db)
        self._loop_clients = LoopClients(partial(build_async_client, config))

    def __repr__(self) -> str:
        return f"RedisCacheProvider(server={self._server!r}, db={self._db}, key_prefix={self._keys.prefix!r})"

    # ---------------------------------------------------------------- helpers

    def _encode(self, value: Any) -> bytes:
        payload = serialization.dumps(value)
        if len(payload) > self.config.max_value_bytes:
            limit = self.config.max_value_bytes
            raise CacheSerializationError(
                f"value is {len(payload)} bytes serialized, over max_value_bytes={limit}"
            )
        return payload

    def _px(self, ttl: float | None) -> int | None:
        """The TTL in milliseconds for ``SET ... PX``, or None for no expiry."""
        seconds = resolve_ttl(ttl, self._default_ttl)
        # round, not int(): 1.005 s is 1004.999... ms in binary floating point.
        return max(1, round(seconds * 1000)) if seconds else None

    def _lookup(self, key: str, payload: _Reply, default: Any) -> Any:
        if payload is not None:
            value = self._decode(key, payload)
            if value is not _MISSING:
                self._stats.record_lookups(1, 0)
                return value
        self._stats.record_lookups(0, 1)
        return default

    def _found(self, keys: list[str], payloads: list[_Reply]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, payload in zip(keys, payloads, strict=True):
            if payload is not None and (value := self._decode(key, payload)) is not _MISSING:
                found[key] = value
        self._stats.record_lookups(len(found), len(keys) - len(found))
        return found

    def _decode(self, key: str, payload: bytes | str) -> Any:
        try:
            return serialization.loads(cast(bytes, payload))
        except serialization.PayloadDecodeError as exc:  # written by another program: a miss
            logger.warning("redis cache: undecodable value under key %r treated as a miss: %s", key, exc)
            self._stats.record_error("decode")
            return _MISSING

    def _failure(self, exc: Exception, operation: str) -> CacheError:
        self._stats.record_error(error_kind(exc))
        return translate(exc, operation, self._server)

    # ---------------------------------------------------------------- single keys

    def get(self, key: str, default: Any = None) -> Any:
        name = self._keys.name(check_key(key))
        try:
            payload = self._client.get(name)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GET") from exc
        return self._lookup(key, payload, default)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        name = self._keys.name(check_key(key))
        payload = self._encode(value)
        px = self._px(ttl)
        try:
            self._client.set(name, payload, px=px)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "SET") from exc
        self._stats.record_sets()

    def delete(self, key: str) -> bool:
        return self.delete_many((check_key(key),)) == 1

    def exists(self, key: str) -> bool:
        name = self._keys.name(check_key(key))
        try:
            return bool(self._client.exists(name))
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "EXISTS") from exc

    # ---------------------------------------------------------------- batches

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        if not wanted:
            return {}
        try:
            payloads = self._client.mget(self._keys.names(wanted))
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "MGET") from exc
        return self._found(wanted, payloads)

    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        px = self._px(ttl)
        items = [(self._keys.name(check_key(key)), self._encode(value)) for key, value in mapping.items()]
        if not items:
            return
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for name, payload in items:
                    pipe.set(name, payload, px=px)
                pipe.execute()
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "SET pipeline") from exc
        self._stats.record_sets(len(items))

    def delete_many(self, keys: Iterable[str]) -> int:
        names = self._keys.names(check_keys(keys))
        if not names:
            return 0
        try:
            removed: int = self._client.unlink(*names)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "UNLINK") from exc
        self._stats.record_deletes(removed)
        return removed

    # ---------------------------------------------------------------- whole cache

    def clear(self) -> int:
        """Remove every key under ``key_prefix`` (SCAN + UNLINK by page, never FLUSHDB or KEYS)."""
        try:
            return self._keys.remove_all(self._client)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "clear (SCAN/UNLINK)") from exc

    def get_size(self) -> int:
        """Count the keys under ``key_prefix`` with SCAN: O(n), meant for diagnostics."""
        try:
            return self._keys.count(self._client)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "get_size (SCAN)") from exc

    def cleanup_expired(self) -> int:
        """Return 0: Redis expires keys itself (lazily on access and by its active expiry cycle)."""
        return 0

    def get_stats(self) -> dict[str, Any]:
        """Counters plus ``server`` (password masked), ``db``, ``key_prefix`` and pool occupancy."""
        in_use, idle = pool_usage(self._client.connection_pool)
        loops, async_in_use, async_idle = self._loop_clients.pool_usage()
        return {
            "provider": self.name,
            **self._stats.snapshot(),
            "server": self._server,
            "db": self._db,
            "key_prefix": self._keys.prefix,
            "parser": "hiredis" if HIREDIS_AVAILABLE else "python",
            "pool": {
                "max_connections": self.config.connection_pool.max_connections,
                "in_use": in_use,
                "idle": idle,
            },
            "async_pools": {"event_loops": loops, "in_use": async_in_use, "idle": async_idle},
        }

    def health(self) -> dict[str, Any]:
        """PING now, within the configured timeouts; an unreachable server is ``healthy: False``."""
        started = time.perf_counter()
        try:
            self._client.ping()
        except BACKEND_ERRORS as exc:
            healthy, detail = False, str(translate(exc, "PING", self._server))
        else:
            healthy, detail = True, f"PONG in {(time.perf_counter() - started) * 1000:.1f} ms"
        return {"provider": self.name, "healthy": healthy, "detail": detail, "server": self._server}

    def close(self) -> None:
        """Close the sync pool, and the async pools that can be closed without awaiting.

        An async pool of a loop that is still open is closed by ``aclose()`` on that loop or when
        that loop shuts down. The provider stays usable: a later call opens new connections.
        """
        self._client.close()
        self._loop_clients.release()

    # ---------------------------------------------------------------- async twins

    async def get_async(self, key: str, default: Any = None) -> Any:
        name = self._keys.name(check_key(key))
        client = await self._loop_clients.current()
        try:
            payload = await client.get(name)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GET") from exc
        return self._lookup(key, payload, default)

    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None:
        name = self._keys.name(check_key(key))
        payload = self._encode(value)
        px = self._px(ttl)
        client = await self._loop_clients.current()
        try:
            await client.set(name, payload, px=px)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "SET") from exc
        self._stats.record_sets()

    async def delete_async(self, key: str) -> bool:
        return await self.delete_many_async((check_key(key),)) == 1

    async def exists_async(self, key: str) -> bool:
        name = self._keys.name(check_key(key))
        client = await self._loop_clients.current()
        try:
            return bool(await client.exists(name))
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "EXISTS") from exc

    async def get_many_async(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = check_keys(keys)
        if not wanted:
            return {}
        client = await self._loop_clients.current()
        try:
            payloads = await client.mget(self._keys.names(wanted))
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "MGET") from exc
        return self._found(wanted, payloads)

    async def set_many_async(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        px = self._px(ttl)
        items = [(self._keys.name(check_key(key)), self._encode(value)) for key, value in mapping.items()]
        if not items:
            return
        client = await self._loop_clients.current()
        try:
            async with client.pipeline(transaction=False) as pipe:
                for name, payload in items:
                    pipe.set(name, payload, px=px)
                await pipe.execute()
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "SET pipeline") from exc
        self._stats.record_sets(len(items))

    async def delete_many_async(self, keys: Iterable[str]) -> int:
        names = self._keys.names(check_keys(keys))
        if not names:
            return 0
        client = await self._loop_clients.current()
        try:
            removed: int = await client.unlink(*names)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "UNLINK") from exc
        self._stats.record_deletes(removed)
        return removed

    async def clear_async(self) -> int:
        client = await self._loop_clients.current()
        try:
            return await self._keys.remove_all_async(client)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "clear (SCAN/UNLINK)") from exc

    async def get_size_async(self) -> int:
        client = await self._loop_clients.current()
        try:
            return await self._keys.count_async(client)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "get_size (SCAN)") from exc

    async def aclose(self) -> None:
        """Close this event loop's pool and the sync pool. The provider stays usable."""
        await self._loop_clients.aclose_current()
        self._client.close()
