"""A provider's key space in Redis: ``key_prefix + key`` names, namespaces under it, SCAN sweeps.

Layout (``key_prefix`` and keys are UTF-8 text, so they never hold the bytes 0xFD-0xFF):

* an entry of the cache: ``key_prefix + key``;
* an entry of namespace ``(n1, n2, ...)``: ``key_prefix + FF "{" n1 "}" (FE n2)* FF + key`` - a
  name that no key of the cache, nor of another namespace, can ever have; the first name is a
  Redis Cluster hash tag, so a namespace and its children live in one slot (their scripts are
  atomic) and different top-level namespaces spread over the cluster;
* the index of a namespace (its entries and its children's indexes, by expiry; see
  ``namespace_scripts``): the namespace's prefix + FD.

The whole-cache sweeps page through ``SCAN MATCH <escaped prefix>* COUNT 500``: never ``KEYS``
(which blocks the server for the whole keyspace) and never ``FLUSHDB`` (which would wipe every other
tenant of the database). On a Redis Cluster they sweep every primary, one after the other (the
transport's ``scan_pages`` knows how). Callers translate the redis errors they raise.
"""

from __future__ import annotations

from collections.abc import Iterable

from src.infrastructure.cache.providers.redis.transport import AsyncTransport, SyncTransport

#: Keys asked per SCAN page; each page is removed with one UNLINK. Small enough that no single
#: command holds the server for long, large enough to need few round trips.
SCAN_COUNT = 500

#: The bytes that shape namespaced names (never in UTF-8 text, so never in a key or a name).
NAMESPACE_START = b"\xff"
NAME_SEPARATOR = b"\xfe"
INDEX_MARK = b"\xfd"

# The characters Redis glob patterns give a meaning to. Escaping them matters: the prefix "t*" must
# not sweep up the keys of a provider whose prefix is "t1".
_GLOB_SPECIALS = frozenset("*?[]\\")


def escape_glob(text: str) -> str:
    """``text`` as a Redis glob pattern that matches exactly ``text``."""
    return "".join(f"\\{char}" if char in _GLOB_SPECIALS else char for char in text)


class KeySpace:
    """The key space of a cache, or of one of its namespaces (``path``, outermost name first).

    Keys given here must already be validated (``check_key``); so must names (``check_namespace``).
    """

    __slots__ = ("_prefix", "indexes", "path", "pattern", "prefix", "root")

    def __init__(self, prefix: str, path: tuple[str, ...] = ()) -> None:
        #: The cache's ``key_prefix`` (with its hash tag), as configured.
        self.prefix = prefix
        self.root = prefix.encode()
        self.path = path
        # Encoded once: the hot path only encodes the key.
        self._prefix = _namespace_prefix(self.root, path) if path else self.root
        #: The index of this namespace, then of each enclosing one up to the outermost (none for the
        #: cache itself): a write here is indexed in the first, which is registered in the next.
        self.indexes = [
            _namespace_prefix(self.root, path[:depth]) + INDEX_MARK for depth in range(len(path), 0, -1)
        ]
        #: SCAN ``MATCH`` pattern of every key of the cache (of all keys, for an empty prefix).
        self.pattern = escape_glob(prefix).encode() + b"*"

    def child(self, name: str) -> KeySpace:
        """The key space of the namespace ``name`` inside this one."""
        return KeySpace(self.prefix, (*self.path, name))

    @property
    def own_prefix(self) -> bytes:
        """What every entry name of this namespace (and no child's) starts with."""
        return self._prefix

    def name(self, key: str) -> bytes:
        """The Redis key of ``key``."""
        return self._prefix + key.encode()

    def names(self, keys: Iterable[str]) -> list[bytes]:
        prefix = self._prefix
        return [prefix + key.encode() for key in keys]

    def remove_all(self, transport: SyncTransport) -> int:
        """UNLINK every key of the cache, namespaces included, page by page; return how many
        entries were removed (index keys go too, uncounted).

        The count is exact: a key SCAN returns twice is unlinked once, as UNLINK counts only keys
        it removed. On a cluster every primary is swept, and each page's UNLINK is split by slot.
        """
        removed = 0
        for names in transport.scan_pages(self.pattern, SCAN_COUNT):
            entries, internal = _split(names)
            if entries:
                removed += transport.unlink(*entries)
            if internal:
                transport.unlink(*internal)
        return removed

    async def remove_all_async(self, transport: AsyncTransport) -> int:
        """Async twin of :meth:`remove_all`."""
        removed = 0
        async for names in transport.scan_pages(self.pattern, SCAN_COUNT):
            entries, internal = _split(names)
            if entries:
                removed += await transport.unlink(*entries)
            if internal:
                await transport.unlink(*internal)
        return removed

    def count(self, transport: SyncTransport) -> int:
        """The number of the cache's own entries (not its namespaces'): O(n) time and memory, for
        diagnostics."""
        seen: set[bytes] = set()  # SCAN may return a key twice while the server resizes its table
        for names in transport.scan_pages(self.pattern, SCAN_COUNT):
            seen.update(name for name in names if NAMESPACE_START not in name and INDEX_MARK not in name)
        return len(seen)

    async def count_async(self, transport: AsyncTransport) -> int:
        """Async twin of :meth:`count`."""
        seen: set[bytes] = set()
        async for names in transport.scan_pages(self.pattern, SCAN_COUNT):
            seen.update(name for name in names if NAMESPACE_START not in name and INDEX_MARK not in name)
        return len(seen)


def _namespace_prefix(root: bytes, path: tuple[str, ...]) -> bytes:
    first, *inner = path
    nested = b"".join(NAME_SEPARATOR + name.encode() for name in inner)
    return root + NAMESPACE_START + b"{" + first.encode() + b"}" + nested + NAMESPACE_START


def _split(names: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """A SCAN page as (entries, index keys)."""
    entries = [name for name in names if INDEX_MARK not in name]
    if len(entries) == len(names):
        return names, []
    return entries, [name for name in names if INDEX_MARK in name]
