"""A provider's namespace in Redis: ``key_prefix + key`` names, and SCAN sweeps over exactly those.

The sweeps page through the namespace with ``SCAN MATCH <escaped prefix>* COUNT 500``: never
``KEYS`` (which blocks the server for the whole keyspace) and never ``FLUSHDB`` (which would wipe
every other tenant of the database). Callers translate the redis errors they raise.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis
import redis.asyncio

#: Keys asked per SCAN page; each page is removed with one UNLINK. Small enough that no single
#: command holds the server for long, large enough to need few round trips.
SCAN_COUNT = 500

# The characters Redis glob patterns give a meaning to. Escaping them matters: the prefix "t*" must
# not sweep up the keys of a provider whose prefix is "t1".
_GLOB_SPECIALS = frozenset("*?[]\\")


def escape_glob(text: str) -> str:
    """``text`` as a Redis glob pattern that matches exactly ``text``."""
    return "".join(f"\\{char}" if char in _GLOB_SPECIALS else char for char in text)


class KeySpace:
    """The namespace of one provider. Keys given here must already be validated (``check_key``)."""

    __slots__ = ("_prefix", "pattern", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._prefix = prefix.encode()  # encoded once: the hot path only encodes the key
        #: SCAN ``MATCH`` pattern of every key in the namespace (of all keys, for an empty prefix).
        self.pattern = escape_glob(prefix).encode() + b"*"

    def name(self, key: str) -> bytes:
        """The Redis key of ``key``."""
        return self._prefix + key.encode()

    def names(self, keys: Iterable[str]) -> list[bytes]:
        prefix = self._prefix
        return [prefix + key.encode() for key in keys]

    def remove_all(self, client: redis.Redis) -> int:
        """UNLINK every key of the namespace, page by page; return how many were removed.

        The count is exact: a key SCAN returns twice is unlinked once, as UNLINK counts only keys
        it removed.
        """
        removed, cursor = 0, 0
        while True:
            cursor, names = client.scan(cursor, match=self.pattern, count=SCAN_COUNT)
            if names:
                removed += client.unlink(*names)
            if not cursor:
                return removed

    async def remove_all_async(self, client: redis.asyncio.Redis) -> int:
        """Async twin of :meth:`remove_all`."""
        removed, cursor = 0, 0
        while True:
            cursor, names = await client.scan(cursor, match=self.pattern, count=SCAN_COUNT)
            if names:
                removed += await client.unlink(*names)
            if not cursor:
                return removed

    def count(self, client: redis.Redis) -> int:
        """The number of keys in the namespace: O(n) time and memory, meant for diagnostics."""
        seen: set[bytes | str] = set()  # SCAN may return a key twice while the server resizes its table
        cursor = 0
        while True:
            cursor, names = client.scan(cursor, match=self.pattern, count=SCAN_COUNT)
            seen.update(names)
            if not cursor:
                return len(seen)

    async def count_async(self, client: redis.asyncio.Redis) -> int:
        """Async twin of :meth:`count`."""
        seen: set[bytes | str] = set()
        cursor = 0
        while True:
            cursor, names = await client.scan(cursor, match=self.pattern, count=SCAN_COUNT)
            seen.update(names)
            if not cursor:
                return len(seen)
