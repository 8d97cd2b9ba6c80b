"""Which entries each namespace of a memory cache holds, so that clearing one costs only its entries.

Namespaced entries share the cache's TLRU store (one ``max_size``, one LRU order) under storage keys
that no caller's key can be: ``SPACE_MARK + names joined by NAME_MARK + SPACE_MARK + key``. The marks
are lone surrogates, which ``check_key`` refuses in keys and ``check_namespace`` in names.

Each namespace's set holds the storage keys written in it *and in its children*, so ``clear()`` of a
namespace pops one set. Entries that the TLRU expires or evicts stay in the sets until a clear, a
count or a prune drops them: a set is pruned whenever it has doubled since its last prune, which
keeps every set within about twice the live entries it names (amortised O(1) per write).

Not thread-safe by itself: the provider calls it with its lock held.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

SPACE_MARK = "\ud800"
NAME_MARK = "\udbff"
#: Below this many members a set is never pruned: pruning costs a pass over it.
_PRUNE_FLOOR = 64

Path = tuple[str, ...]


def space_of(path: Path) -> str:
    """What every storage key of the namespace ``path`` (and of none of its children) starts with."""
    return SPACE_MARK + NAME_MARK.join(path) + SPACE_MARK


class NamespaceIndex:
    """The storage keys of every namespace of one cache, by namespace path."""

    __slots__ = ("_members", "_prune_at")

    def __init__(self) -> None:
        self._members: dict[Path, set[str]] = {}
        self._prune_at: dict[Path, int] = {}

    def __bool__(self) -> bool:
        return bool(self._members)

    def add(self, path: Path, stored: Iterable[str], live: Container[str]) -> None:
        """Index ``stored`` keys, written in ``path``, in it and in every enclosing namespace."""
        stored = list(stored)
        for depth in range(1, len(path) + 1):
            scope = path[:depth]
            members = self._members.setdefault(scope, set())
            members.update(stored)
            if len(members) >= self._prune_at.get(scope, _PRUNE_FLOOR):
                members.intersection_update([key for key in members if key in live])
                self._prune_at[scope] = max(_PRUNE_FLOOR, 2 * len(members))

    def discard(self, path: Path, stored: Iterable[str]) -> None:
        """Forget ``stored`` keys (deleted from ``path``) everywhere they are indexed."""
        stored = list(stored)
        for depth in range(1, len(path) + 1):
            members = self._members.get(path[:depth])
            if members is not None:
                members.difference_update(stored)

    def pop_tree(self, path: Path) -> set[str]:
        """The storage keys of ``path`` and its children, forgotten by every namespace."""
        doomed = self._members.pop(path, set())
        self._prune_at.pop(path, None)
        for scope in [scope for scope in self._members if scope[: len(path)] == path]:
            del self._members[scope]  # a child: every key it names is in ``doomed`` already
            self._prune_at.pop(scope, None)
        for depth in range(1, len(path)):
            members = self._members.get(path[:depth])
            if members is not None:
                members.difference_update(doomed)
        return doomed

    def count_own(self, path: Path, live: Container[str]) -> int:
        """How many live entries ``path`` itself holds (not its children); drops the dead ones."""
        members = self._members.get(path)
        if not members:
            return 0
        members.intersection_update([key for key in members if key in live])
        own = space_of(path)
        return sum(key.startswith(own) for key in members)

    def clear(self) -> None:
        self._members.clear()
        self._prune_at.clear()
