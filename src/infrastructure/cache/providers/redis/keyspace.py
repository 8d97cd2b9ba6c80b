"""A provider's namespace in Redis: ``key_prefix + key`` names, and SCAN sweeps over exactly those.

The sweeps page through the namespace with ``SCAN MATCH <escaped prefix>* COUNT 500``: never
``KEYS`` (which blocks the server for the whole keyspace) and never ``FLUSHDB`` (which would wipe
every other tenant of the database). On a Redis Cluster they sweep every primary, one after the
other (the transport's ``scan_pages`` knows how). Callers translate the redis errors they raise.
"""

from __future__ import annotations

from collections.abc import Iterable

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.transport import AsyncTransport, SyncTransport

#: Keys asked per SCAN page; each page is removed with one UNLINK. Small enough that no single
#: command holds the server for long, large enough to need few round trips.
SCAN_COUNT = 500

# The characters Redis glob patterns give a meaning to. Escaping them matters: the prefix "t*" must
# not sweep up the keys of a provider whose prefix is "t1".
_GLOB_SPECIALS = frozenset("*?[]\\")


def namespace_prefix(config: RedisCacheConfig) -> str:
    """The prefix of every key: ``key_prefix``, or with ``hash_tag`` that prefix as one hash tag.

    Redis Cluster hashes only what lies between the first ``{`` and the next ``}``, so
    ``{agent:cache}:`` puts every key of the namespace in the same slot. The trailing delimiter
    stays outside the braces: ``agent:cache:`` becomes ``{agent:cache}:``.
    """
    prefix = config.key_prefix
    if not config.hash_tag:
        return prefix
    body, delimiter = (prefix[:-1], ":") if prefix.endswith(":") else (prefix, "")
    return f"{{{body}}}{delimiter}"


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

    def remove_all(self, transport: SyncTransport) -> int:
        """UNLINK every key of the namespace, page by page; return how many were removed.

        The count is exact: a key SCAN returns twice is unlinked once, as UNLINK counts only keys
        it removed. On a cluster every primary is swept, and each page's UNLINK is split by slot.
        """
        removed = 0
        for names in transport.scan_pages(self.pattern, SCAN_COUNT):
            if names:
                removed += transport.unlink(*names)
        return removed

    async def remove_all_async(self, transport: AsyncTransport) -> int:
        """Async twin of :meth:`remove_all`."""
        removed = 0
        async for names in transport.scan_pages(self.pattern, SCAN_COUNT):
            if names:
                removed += await transport.unlink(*names)
        return removed

    def count(self, transport: SyncTransport) -> int:
        """The number of keys in the namespace: O(n) time and memory, meant for diagnostics."""
        seen: set[bytes] = set()  # SCAN may return a key twice while the server resizes its table
        for names in transport.scan_pages(self.pattern, SCAN_COUNT):
            seen.update(names)
        return len(seen)

    async def count_async(self, transport: AsyncTransport) -> int:
        """Async twin of :meth:`count`."""
        seen: set[bytes] = set()
        async for names in transport.scan_pages(self.pattern, SCAN_COUNT):
            seen.update(names)
        return len(seen)
