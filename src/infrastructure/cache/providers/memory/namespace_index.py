"""Which entries each namespace of a memory cache holds, so that clearing one costs only its entries.

Namespaced entries share the cache's TLRU store (one ``max_size``, one LRU order) under storage keys
that no caller's key can be: ``SPACE_MARK + names joined by NAME_MARK + SPACE_MARK + key``. The marks
are lone surrogates, which ``check_key`` refuses in keys and ``check_namespace`` in names.

Each namespace's set holds the storage keys written in it, and each namespace knows its children
(registered once, by their first write), so ``clear()`` of a namespace pops its set and its
children's. Entries that the TLRU expires or evicts stay in the sets until a clear, a count or a
prune drops them: a set is pruned whenever it has doubled since its last prune, which keeps every
set within about twice the live entries it names (amortised O(1) per write).

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
    """The storage keys of every namespace of one cache, and its children, by namespace path."""

    __slots__ = ("_children", "_members", "_prune_at")

    def __init__(self) -> None:
        self._members: dict[Path, set[str]] = {}
        self._children: dict[Path, set[Path]] = {}
        self._prune_at: dict[Path, int] = {}

    def __bool__(self) -> bool:
        return bool(self._members)

    def add(self, path: Path, stored: Iterable[str], live: Container[str]) -> None:
        """Index ``stored`` keys, written in ``path``."""
        members = self._members.get(path)
        if members is None:
            members = self._members[path] = set()
            self._register(path)
        members.update(stored)
        if len(members) >= self._prune_at.get(path, _PRUNE_FLOOR):
            members.intersection_update([key for key in members if key in live])
            self._prune_at[path] = max(_PRUNE_FLOOR, 2 * len(members))

    def add_one(self, path: Path, stored: str, live: Container[str]) -> None:
        """:meth:`add` of one key: ``set``'s path, without the iterable."""
        members = self._members.get(path)
        if members is None or len(members) + 1 >= self._prune_at.get(path, _PRUNE_FLOOR):
            self.add(path, (stored,), live)
        else:
            members.add(stored)

    def discard(self, path: Path, stored: Iterable[str]) -> None:
        """Forget ``stored`` keys, deleted from ``path``."""
        members = self._members.get(path)
        if members is not None:
            members.difference_update(stored)

    def pop_tree(self, path: Path) -> set[str]:
        """The storage keys of ``path`` and of its children, all of them forgotten."""
        doomed: set[str] = set()
        pending = [path]
        while pending:
            scope = pending.pop()
            doomed |= self._members.pop(scope, set())
            self._prune_at.pop(scope, None)
            pending += self._children.pop(scope, set())
        siblings = self._children.get(path[:-1])
        if siblings is not None:
            siblings.discard(path)
        return doomed

    def count_own(self, path: Path, live: Container[str]) -> int:
        """How many live entries ``path`` itself holds (not its children); drops the dead ones."""
        members = self._members.get(path)
        if not members:
            return 0
        members.intersection_update([key for key in members if key in live])
        return len(members)

    def clear(self) -> None:
        self._members.clear()
        self._children.clear()
        self._prune_at.clear()

    def _register(self, path: Path) -> None:
        """Make ``path`` (and each enclosing namespace not known yet) a child of its parent."""
        for depth in range(len(path), 1, -1):
            children = self._children.setdefault(path[: depth - 1], set())
            if path[:depth] in children:
                return
            children.add(path[:depth])
