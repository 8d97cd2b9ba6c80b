"""The one "nothing stored" marker shared by the codec, compute-once and the providers."""

from __future__ import annotations

from typing import Any, Final


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"  # one object, even through copy and pickle


#: "No value": never equal to (never ``is``) a value a caller stored, ``None`` included.
MISSING: Final[Any] = _Missing()
