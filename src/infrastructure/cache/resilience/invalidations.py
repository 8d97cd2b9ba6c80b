"""What a backend must forget before it serves again after an outage."""

from __future__ import annotations

from collections.abc import Iterable

#: A namespace path, outermost name first; ``()`` is the cache itself.
Path = tuple[str, ...]


class PendingInvalidations:
    """Keys whose writes did not reach the backend, by namespace; namespaces whose ``clear()`` did
    not; or the whole cache once there are too many keys.

    Not thread-safe by itself: the resilient provider guards it with the same lock it closes the
    circuit under, so that no write can be recorded after the last replay and before the close.
    """

    def __init__(self, max_keys: int) -> None:
        self._max_keys = max_keys
        self._keys: dict[Path, set[str]] = {}
        self._cleared: set[Path] = set()
        self._count = 0
        self._clear_all = False

    def mark(self, keys: Iterable[str], clear: bool = False, path: Path = ()) -> None:
        """Record ``keys`` of the namespace ``path``, or with ``clear`` that whole namespace.

        Beyond ``max_keys`` keys in all (counted after adding these, so one big batch cannot
        overshoot the bound) the record becomes one clear of the whole cache.
        """
        if self._clear_all:
            return
        if clear and not path:
            self._overflow()
        elif clear:
            self._cleared.add(path)
        else:
            marked = self._keys.setdefault(path, set())
            before = len(marked)
            marked.update(keys)
            self._count += len(marked) - before
            if self._count > self._max_keys:
                self._overflow()

    def take(self) -> list[tuple[Path, list[str], bool]]:
        """Everything recorded, as ``(path, keys, clear that namespace)``: the whole cache's clear
        alone when there is one. The record is empty afterwards."""
        if self._clear_all:
            taken: list[tuple[Path, list[str], bool]] = [((), [], True)]
        else:
            taken = [(path, [], True) for path in sorted(self._cleared)]
            taken += [(path, list(keys), False) for path, keys in self._keys.items() if keys]
        self._keys, self._cleared, self._count, self._clear_all = {}, set(), 0, False
        return taken

    def describe(self) -> int | str:
        """How much is pending, for stats: a key count (namespace clears add one each), or
        ``"all (clear)"``."""
        return "all (clear)" if self._clear_all else self._count + len(self._cleared)

    def _overflow(self) -> None:
        self._clear_all = True
        self._keys.clear()
        self._cleared.clear()
        self._count = 0
