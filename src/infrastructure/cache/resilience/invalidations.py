"""What a backend must forget before it serves again after an outage."""

from __future__ import annotations

from collections.abc import Iterable


class PendingInvalidations:
    """Keys whose writes did not reach the backend, or the whole namespace once there are too many.

    Not thread-safe by itself: the resilient provider guards it with the same lock it closes the
    circuit under, so that no write can be recorded after the last replay and before the close.
    """

    def __init__(self, max_keys: int) -> None:
        self._max_keys = max_keys
        self._keys: set[str] = set()
        self._clear = False

    def mark(self, keys: Iterable[str], clear: bool = False) -> None:
        """Record ``keys``, or the whole namespace with ``clear``.

        Beyond ``max_keys`` (counted after adding these, so one big batch cannot overshoot the
        bound) the record becomes one clear of the namespace.
        """
        if self._clear:
            return
        if not clear:
            self._keys.update(keys)
            if len(self._keys) <= self._max_keys:
                return
        self._clear = True
        self._keys.clear()

    def take(self) -> tuple[list[str], bool]:
        """Everything recorded, as ``(keys, clear the namespace)``; the record is empty afterwards."""
        keys, clear = list(self._keys), self._clear
        self._keys, self._clear = set(), False
        return keys, clear

    def describe(self) -> int | str:
        """How much is pending, for stats: a key count, or ``"all (clear)"``."""
        return "all (clear)" if self._clear else len(self._keys)
