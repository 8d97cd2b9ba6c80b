"""Compute-once leases kept in the data key itself (see ``compute.leases`` for the protocol).

While a value is computed, its key holds ``LEASE_MARK + token`` with the lease's ``PX``: a payload
every reader takes for a miss. Each operation is one single-key script, atomic on the server and
routable on a cluster like any command on that key:

* acquire: the value if one is stored; else the lease, with ``SET ... PX`` - unless a lease is there;
* store: the value in place of the lease, only if the lease still carries our token;
* renew / release: ``PEXPIRE`` / ``DEL``, only if the lease still carries our token.

A ``set``, ``delete`` or ``clear`` during a computation replaces or removes the mark, so the
computed value is not written over it. Callers translate the redis errors raised here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from src.infrastructure.cache.compute.leases import MISSING, Leases
from src.infrastructure.cache.providers.redis.errors import BACKEND_ERRORS
from src.infrastructure.cache.serialization import LEASE_MARK
from src.interfaces.llm.cache import CacheError

_ACQUIRE = """
local value = redis.call('GET', KEYS[1])
if value then
  if string.sub(value, 1, 1) == ARGV[3] then return {0} end
  return {2, value}
end
redis.call('SET', KEYS[1], ARGV[3] .. ARGV[1], 'PX', ARGV[2])
return {1}
"""

_STORE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
"""

_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisLeases(Leases):
    """The leases of one Redis provider, over its clients, key names and payload codec.

    ``name`` maps a key to its Redis key; ``decode`` turns a payload into a value or ``MISSING``
    (a lease mark or an undecodable payload: a miss); ``encode`` and ``px`` are the provider's own,
    so a stored value is exactly what ``set`` would have written.
    """

    def __init__(
        self,
        *,
        sync_client: Any,
        async_client: Callable[[], Awaitable[Any]],
        name: Callable[[str], bytes],
        encode: Callable[[Any], bytes],
        decode: Callable[[str, bytes], Any],
        px: Callable[[float | None], int | None],
        failure: Callable[[Exception, str], CacheError],
    ) -> None:
        self._client = sync_client
        # Registered on first use: registering on a cluster client builds it, which dials the cluster,
        # and building a provider must not dial anything.
        self._scripts: dict[str, Any] = {}
        self._async_client = async_client
        # AsyncScript objects, built with the first loop's client and called with each loop's own
        # (``client=``): a script is its source and SHA, and may run on any client.
        self._scripts_async: dict[str, Any] = {}
        self._name = name
        self._encode = encode
        self._decode = decode
        self._px = px
        self._failure = failure

    # ---------------------------------------------------------------- sync

    def acquire(self, key: str, token: str, seconds: float) -> tuple[bool, Any]:
        return self._acquired(key, self._run(_ACQUIRE, key, [token, _ms(seconds), LEASE_MARK]))

    def peek(self, key: str) -> tuple[bool, Any]:
        try:
            payload = self._client.get(self._name(key))
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

    def _run(self, source: str, key: str, args: list[Any]) -> Any:
        """Run ``source`` on ``key`` with the sync client; the script is registered on first use."""
        try:
            script = self._scripts.get(source)
            if script is None:
                script = self._scripts[source] = self._client.register_script(source)
            return script(keys=[self._name(key)], args=args, client=self._client)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "lease script") from exc

    # ---------------------------------------------------------------- async

    async def acquire_async(self, key: str, token: str, seconds: float) -> tuple[bool, Any]:
        return self._acquired(key, await self._run_async(_ACQUIRE, key, [token, _ms(seconds), LEASE_MARK]))

    async def peek_async(self, key: str) -> tuple[bool, Any]:
        client = await self._async_client()
        try:
            payload = await client.get(self._name(key))
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

    async def _run_async(self, source: str, key: str, args: list[Any]) -> Any:
        """Run ``source`` on ``key`` with the running loop's client."""
        client = await self._async_client()
        try:
            script = self._scripts_async.get(source)
            if script is None:
                script = self._scripts_async[source] = client.register_script(source)
            return await script(keys=[self._name(key)], args=args, client=client)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "lease script") from exc

    # ---------------------------------------------------------------- replies

    def _acquired(self, key: str, reply: list[Any]) -> tuple[bool, Any]:
        if reply[0] == 2:
            return False, self._decode(key, reply[1])
        return reply[0] == 1, MISSING

    def _peeked(self, key: str, payload: bytes | None) -> tuple[bool, Any]:
        if payload is None:
            return False, MISSING
        if payload[:1] == LEASE_MARK:
            return True, MISSING
        return False, self._decode(key, payload)
