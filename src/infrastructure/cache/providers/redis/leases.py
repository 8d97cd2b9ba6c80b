"""Compute-once leases kept in the data key itself (see ``compute.leases`` for the protocol).

While a value is computed, its key holds ``LEASE_MARK + token`` with the lease's ``PX``: a payload
every reader takes for a miss. Each operation is one script on that key (and, in a namespace, the
namespace's indexes, in the same cluster slot: see ``namespace_scripts``), atomic on the server:

* acquire: the value if one is stored; else the lease, with ``SET ... PX`` - unless a lease is there;
* store: the value in place of the lease, only if the lease still carries our token;
* renew / release: ``PEXPIRE`` / ``DEL``, only if the lease still carries our token.

A ``set``, ``delete`` or ``clear`` during a computation replaces or removes the mark, so the
computed value is not written over it; in a namespace the lease is indexed like an entry, so a
``clear()`` of the namespace removes it too. The scripts run through the provider's transports
(``run_script``), which load each on first use and route it to its key's node.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from src.infrastructure.cache.codec import TIMED_FORMAT
from src.infrastructure.cache.compute.leases import MISSING, Leases
from src.infrastructure.cache.providers.redis.errors import BACKEND_ERRORS
from src.infrastructure.cache.providers.redis.namespace_scripts import INDEX_LUA
from src.infrastructure.cache.providers.redis.transport import AsyncTransport, Reply, SyncTransport
from src.infrastructure.cache.serialization import LEASE_MARK
from src.interfaces.llm.cache import CacheError

# KEYS[1]: the entry; KEYS[2..]: the index of its namespace, then the enclosing ones (none for
# the cache itself), kept as ``set`` keeps them.
_ACQUIRE = (
    INDEX_LUA
    + """
local value = redis.call('GET', KEYS[1])
if value then
  local first = string.sub(value, 1, 1)
  if first == ARGV[3] then return {0} end
  -- A timed entry past its freshness (ARGV[5]: its format byte; ARGV[4]: the caller's clock) is
  -- stale: a miss, replaced by the lease; any other value is served.
  if first ~= ARGV[5] or string.len(value) < 17 or struct.unpack('>d', value, 2) > tonumber(ARGV[4]) then
    return {2, value}
  end
end
local px = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[3] .. ARGV[1], 'PX', px)
if #KEYS > 1 then index(2, #KEYS, {KEYS[1]}, now_ms(), px) end
return {1}
"""
)

_STORE = (
    INDEX_LUA
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local px = tonumber(ARGV[3])
if px == 0 then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', px)
end
if #KEYS > 1 then index(2, #KEYS, {KEYS[1]}, now_ms(), px) end
return 1
"""
)

_RENEW = (
    INDEX_LUA
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local px = tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[1], px)
if #KEYS > 1 then index(2, #KEYS, {KEYS[1]}, now_ms(), px) end
return 1
"""
)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if #KEYS > 1 then redis.call('ZREM', KEYS[2], KEYS[1]) end
  return 1
end
return 0
"""


_TRY_REFRESH = """
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
"""

_END_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

#: Suffix of a key's refresh lock (stale-while-revalidate, XFetch), beside the key: the value stays
#: readable while one caller refreshes it. 0xFD marks it internal: never counted as an entry.
REFRESH_SUFFIX = b"\xfdrefresh"


def _acquire_args(token: str, seconds: float) -> list[Any]:
    # time.time(): the clock the Redis provider writes timed entries' freshness with (codec).
    return [token, _ms(seconds), LEASE_MARK, repr(time.time()), TIMED_FORMAT]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisLeases(Leases):
    """The leases of one Redis provider, over its transports, key names and payload codec.

    ``name`` maps a key to its Redis key and ``indexes`` are the index keys of its namespace (none
    for the cache itself); ``decode`` turns a payload into a value or ``MISSING`` (a lease mark or
    an undecodable payload: a miss); ``encode`` and ``px`` are the provider's own, so a stored value
    is exactly what ``set`` would have written.
    """

    def __init__(
        self,
        *,
        transport: SyncTransport,
        async_transport: Callable[[], Awaitable[AsyncTransport]],
        name: Callable[[str], bytes],
        indexes: list[bytes],
        encode: Callable[[Any], bytes],
        decode: Callable[[str, bytes | str], Any],
        px: Callable[[float | None], int | None],
        failure: Callable[[Exception, str], CacheError],
    ) -> None:
        self._transport = transport
        self._async_transport = async_transport  # the running loop's
        self._name = name
        self._indexes = indexes
        self._encode = encode
        self._decode = decode
        self._px = px
        self._failure = failure

    # ---------------------------------------------------------------- sync

    def acquire(self, key: str, token: str, seconds: float) -> tuple[bool, Any]:
        return self._acquired(key, self._run(_ACQUIRE, key, _acquire_args(token, seconds)))

    def peek(self, key: str) -> tuple[bool, Any]:
        try:
            payload = self._transport.get(self._name(key))
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GET (lease)") from exc
        return self._peeked(key, payload)

    def renew(self, key: str, token: str, seconds: float) -> bool:
        return bool(self._run(_RENEW, key, [LEASE_MARK + token.encode(), _ms(seconds)]))

    def store(self, key: str, token: str, value: Any, ttl: float | None) -> bool:
        payload, px = self._encode(value), self._px(ttl)
        return bool(self._run(_STORE, key, [LEASE_MARK + token.encode(), payload, px or 0]))

    def release(self, key: str, token: str) -> None:
        self._run(_RELEASE, key, [LEASE_MARK + token.encode()])

    def try_refresh(self, key: str, token: str, seconds: float) -> bool:
        return bool(self._run(_TRY_REFRESH, key, [token, _ms(seconds)], REFRESH_SUFFIX))

    def end_refresh(self, key: str, token: str) -> None:
        self._run(_END_REFRESH, key, [token], REFRESH_SUFFIX)

    def _run(self, source: str, key: str, args: list[Any], suffix: bytes = b"") -> Any:
        """Run ``source`` on ``key`` through the sync transport."""
        try:
            return self._transport.run_script(source, self._keys_of(key, suffix), args)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "lease script") from exc

    # ---------------------------------------------------------------- async

    async def acquire_async(self, key: str, token: str, seconds: float) -> tuple[bool, Any]:
        return self._acquired(key, await self._run_async(_ACQUIRE, key, _acquire_args(token, seconds)))

    async def peek_async(self, key: str) -> tuple[bool, Any]:
        transport = await self._async_transport()
        try:
            payload = await transport.get(self._name(key))
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "GET (lease)") from exc
        return self._peeked(key, payload)

    async def renew_async(self, key: str, token: str, seconds: float) -> bool:
        return bool(await self._run_async(_RENEW, key, [LEASE_MARK + token.encode(), _ms(seconds)]))

    async def store_async(self, key: str, token: str, value: Any, ttl: float | None) -> bool:
        payload, px = self._encode(value), self._px(ttl)
        return bool(await self._run_async(_STORE, key, [LEASE_MARK + token.encode(), payload, px or 0]))

    async def release_async(self, key: str, token: str) -> None:
        await self._run_async(_RELEASE, key, [LEASE_MARK + token.encode()])

    async def try_refresh_async(self, key: str, token: str, seconds: float) -> bool:
        return bool(await self._run_async(_TRY_REFRESH, key, [token, _ms(seconds)], REFRESH_SUFFIX))

    async def end_refresh_async(self, key: str, token: str) -> None:
        await self._run_async(_END_REFRESH, key, [token], REFRESH_SUFFIX)

    async def _run_async(self, source: str, key: str, args: list[Any], suffix: bytes = b"") -> Any:
        """Run ``source`` on ``key`` through the running loop's transport."""
        transport = await self._async_transport()
        try:
            return await transport.run_script(source, self._keys_of(key, suffix), args)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "lease script") from exc

    def _keys_of(self, key: str, suffix: bytes) -> list[bytes]:
        """KEYS of a script on ``key``: the entry and its indexes, or (``suffix``) a key beside it."""
        if suffix:
            return [self._name(key) + suffix]
        return [self._name(key), *self._indexes]

    # ---------------------------------------------------------------- replies

    def _acquired(self, key: str, reply: list[Any]) -> tuple[bool, Any]:
        if reply[0] == 2:
            return False, self._decode(key, reply[1])
        return reply[0] == 1, MISSING

    def _peeked(self, key: str, payload: Reply) -> tuple[bool, Any]:
        if payload is None:
            return False, MISSING
        if payload[:1] == LEASE_MARK:
            return True, MISSING
        return False, self._decode(key, payload)
