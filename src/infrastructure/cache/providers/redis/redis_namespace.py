"""A namespace of a Redis cache: the same connections, codec and counters, its own key space.

Reads are the cache's own code over the namespace's names (``keyspace``): a ``GET``/``MGET`` as in the
cache, one round trip. Writes are one script each (``namespace_scripts``) that also index the names
in the namespace's index (registered in its parent's), so that ``clear()`` pops that index page by
page - and its children's - instead of scanning the database, and ``get_size()`` counts from it.
Concurrent ``set_async`` calls in a namespace are not coalesced (each is one script call); reads
still are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from src.infrastructure.cache.providers.redis.errors import BACKEND_ERRORS
from src.infrastructure.cache.providers.redis.keyspace import INDEX_MARK, KeySpace
from src.infrastructure.cache.providers.redis.leases import RedisLeases
from src.infrastructure.cache.providers.redis.namespace_scripts import (
    CLEAR_PAGE,
    DELETE_IN,
    PAGE,
    SET_IN,
    SIZE_PAGE,
)
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.infrastructure.cache.sentinels import MISSING
from src.infrastructure.cache.validation import check_key, check_keys


class RedisNamespace(RedisCacheProvider):
    """A view of ``parent`` whose entries live under ``keys`` (see the module's docstring).

    Everything but the key space, the leases (indexed like entries) and the compute-once entry
    point is the parent's own object: connections, codec, counters, configuration. So a view costs
    a few objects to make, and ``close()`` on it releases nothing.
    """

    def __init__(self, parent: RedisCacheProvider, keys: KeySpace) -> None:
        vars(self).update(vars(parent))  # a view, not a second provider: no super().__init__()
        self._keys = keys
        self.path = keys.path
        self._leases = RedisLeases(
            transport=self._transport,
            async_transport=self._loops.current,
            name=keys.name,
            indexes=keys.indexes,
            encode=self._codec.encode,
            decode=partial(self._codec.value_of, missing=MISSING),
            px=self._px,
            failure=self._failure,
        )
        self._adopt_compute(parent)

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, namespace={'/'.join(self.path)!r})"

    # ---------------------------------------------------------------- writes, indexed

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        name = self._keys.name(check_key(key))
        payload = self._codec.encode(value)
        self._write([name], [payload], ttl, "SET")

    def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        names, payloads = self._codec.batch(mapping, self._keys.names)
        self._write(names, payloads, ttl, "SET batch")

    def delete_many(self, keys: Iterable[str]) -> int:
        names = self._keys.names(check_keys(keys))
        own_index = self._keys.indexes[0]
        removed: int = 0
        try:
            for start in range(0, len(names), PAGE):
                removed += self._transport.run_script(
                    DELETE_IN, [own_index, *names[start : start + PAGE]], []
                )
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "UNLINK (namespace)") from exc
        self._stats.record_deletes(removed)
        return removed

    def clear(self) -> int:
        """Remove this namespace's entries and its children's: its index popped page by page, and
        each child index it holds in turn."""
        pending, removed = [self._keys.indexes[0]], 0
        try:
            while pending:
                reply = self._transport.run_script(CLEAR_PAGE, [pending[-1]], [PAGE, INDEX_MARK])
                removed += _cleared(reply, pending)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "clear (namespace index)") from exc
        return removed

    def get_size(self) -> int:
        """The namespace's own live entries, counted from its index (dead members are dropped)."""
        own_index, cursor, count = self._keys.indexes[0], b"0", 0
        try:
            while True:
                reply = self._transport.run_script(
                    SIZE_PAGE, [own_index], [cursor, PAGE, self._keys.own_prefix]
                )
                cursor, count = reply[0], count + int(reply[1])
                if _done(cursor):
                    return count
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "get_size (namespace index)") from exc

    def close(self) -> None:
        """Nothing to release: the connections are the cache's."""

    def _write(self, names: Sequence[bytes], payloads: Sequence[bytes], ttl: float | None, what: str) -> None:
        px, indexes = self._px(ttl) or 0, self._keys.indexes
        try:
            for start in range(0, len(names), PAGE):
                keys = [*indexes, *names[start : start + PAGE]]
                self._transport.run_script(SET_IN, keys, [len(indexes), px, *payloads[start : start + PAGE]])
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, f"{what} (namespace)") from exc
        self._stats.record_sets(len(names))

    # ---------------------------------------------------------------- async twins

    async def set_async(self, key: str, value: Any, ttl: float | None = None) -> None:
        name = self._keys.name(check_key(key))
        payload = self._codec.encode(value)
        await self._write_async([name], [payload], ttl, "SET")

    async def set_many_async(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        names, payloads = self._codec.batch(mapping, self._keys.names)
        await self._write_async(names, payloads, ttl, "SET batch")

    async def delete_many_async(self, keys: Iterable[str]) -> int:
        names = self._keys.names(check_keys(keys))
        own_index = self._keys.indexes[0]
        removed: int = 0
        transport = await self._loops.current()
        try:
            for start in range(0, len(names), PAGE):
                removed += await transport.run_script(
                    DELETE_IN, [own_index, *names[start : start + PAGE]], []
                )
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "UNLINK (namespace)") from exc
        self._stats.record_deletes(removed)
        return removed

    async def clear_async(self) -> int:
        pending, removed = [self._keys.indexes[0]], 0
        transport = await self._loops.current()
        try:
            while pending:
                reply = await transport.run_script(CLEAR_PAGE, [pending[-1]], [PAGE, INDEX_MARK])
                removed += _cleared(reply, pending)
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "clear (namespace index)") from exc
        return removed

    async def get_size_async(self) -> int:
        own_index, cursor, count = self._keys.indexes[0], b"0", 0
        transport = await self._loops.current()
        try:
            while True:
                reply = await transport.run_script(
                    SIZE_PAGE, [own_index], [cursor, PAGE, self._keys.own_prefix]
                )
                cursor, count = reply[0], count + int(reply[1])
                if _done(cursor):
                    return count
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, "get_size (namespace index)") from exc

    async def aclose(self) -> None:
        """Nothing to release: the connections are the cache's."""

    async def _write_async(
        self, names: Sequence[bytes], payloads: Sequence[bytes], ttl: float | None, what: str
    ) -> None:
        px, indexes = self._px(ttl) or 0, self._keys.indexes
        transport = await self._loops.current()
        try:
            for start in range(0, len(names), PAGE):
                keys = [*indexes, *names[start : start + PAGE]]
                await transport.run_script(SET_IN, keys, [len(indexes), px, *payloads[start : start + PAGE]])
        except BACKEND_ERRORS as exc:
            raise self._failure(exc, f"{what} (namespace)") from exc
        self._stats.record_sets(len(names))


def _cleared(reply: list[Any], pending: list[bytes]) -> int:
    """One CLEAR_PAGE reply: the entries it removed; ``pending`` (the indexes still to clear,
    the current one last) loses the current index once it is empty and gains the children it held."""
    popped, existed, *children = reply
    if not popped:
        pending.pop()
    pending += children
    return int(existed)


def _done(cursor: bytes | str | int) -> bool:
    return cursor in (b"0", "0", 0)
