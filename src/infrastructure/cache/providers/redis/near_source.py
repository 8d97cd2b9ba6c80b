"""What a near cache needs of a Redis cache, or of one of its namespaces, in one small object.

The near cache (``src/infrastructure/cache/near``) keeps payloads by their Redis name - the name the
server's invalidations carry - and decodes them with the cache's own codec on each hit, so a hit
counts in the cache's ``hits`` as a read from Redis would, and a timed entry past its freshness is a
miss exactly as it is there. A miss is one round trip that also brings the key's TTL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from src.infrastructure.cache.codec import PayloadCodec, StoredEntry
from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.errors import BACKEND_ERRORS
from src.infrastructure.cache.providers.redis.keyspace import NAME_SEPARATOR, KeySpace
from src.infrastructure.cache.providers.redis.transport import AsyncTransport, Reply, SyncTransport
from src.infrastructure.cache.validation import check_key
from src.interfaces.llm.cache import CacheError


class NearSource:
    """The key space, transports, codec and error translation of one Redis cache or namespace."""

    __slots__ = ("_async_transport", "_codec", "_failure", "_keys", "_transport", "config")

    def __init__(
        self,
        config: RedisCacheConfig,
        *,
        keys: KeySpace,
        transport: SyncTransport,
        async_transport: Callable[[], Awaitable[AsyncTransport]],
        codec: PayloadCodec,
        failure: Callable[[Exception, str], CacheError],
    ) -> None:
        self.config = config
        self._keys = keys
        self._transport = transport
        self._async_transport = async_transport  # the running loop's
        self._codec = codec
        self._failure = failure

    @property
    def tracked_prefix(self) -> bytes:
        """What every name of the cache (its namespaces' included) starts with: ``key_prefix``."""
        return self._keys.root

    @property
    def scope(self) -> tuple[bytes, ...]:
        """What the names of this namespace and of the namespaces inside it start with (for a
        clear); the cache's ``key_prefix`` for the cache itself."""
        own = self._keys.own_prefix
        if not self._keys.path:
            return (own,)
        return (own, own[:-1] + NAME_SEPARATOR)

    def name(self, key: str) -> bytes:
        """The Redis name of ``key`` (checked: ``TypeError``/``ValueError`` for a bad key)."""
        return self._keys.name(check_key(key))

    def names(self, keys: list[str]) -> list[bytes]:
        """The Redis names of ``keys``, already checked."""
        return self._keys.names(keys)

    def fetch(self, name: bytes) -> tuple[Reply, int]:
        """``name``'s payload (or None) and its PTTL, in one round trip."""
        try:
            return self._transport.get_with_pttl(name)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GET") from exc

    async def fetch_async(self, name: bytes) -> tuple[Reply, int]:
        """Async twin of :meth:`fetch`."""
        transport = await self._async_transport()
        try:
            return await transport.get_with_pttl(name)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GET") from exc

    def value(self, key: str, payload: Reply, default: Any) -> Any:
        """The value in ``payload`` or ``default``; counts one hit or miss of the cache."""
        return self._codec.lookup(key, payload, default)

    def entry(self, key: str, payload: Reply) -> StoredEntry | Any:
        """``payload`` as ``get_entry`` returns it; counts one hit or miss of the cache."""
        return self._codec.entry(key, payload)
