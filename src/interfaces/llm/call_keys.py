"""The cache key of one call of a ``cached`` function: ``<prefix>:v1:<digest of its arguments>``.

The recipe is in :func:`~src.interfaces.llm.cached.cached`'s docstring; the encoding in
:mod:`src.interfaces.llm.cache_keys`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from src.interfaces.llm.cache_keys import UnsupportedKeyValue, canonical_bytes, digest

#: The key layout's version: ``<prefix>:v1:<digest>``. Bump it when what a key holds changes, so
#: new keys never meet entries written under the old layout.
KEY_FORMAT = "v1"
#: The contract's longest key; the prefix gets what the format and the digest leave.
MAX_KEY_LENGTH = 1024
MAX_PREFIX_LENGTH = MAX_KEY_LENGTH - len(f":{KEY_FORMAT}:") - 64


class CallKeys:
    """Builds the keys of ``fn``'s calls: from its bound arguments, or from ``key(*args, **kwargs)``.

    Every check that needs no call happens here, at decoration: the prefix (``module.qualname``
    of ``fn`` unless given), and that each ``ignore``d name is a parameter of ``fn``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        prefix: str | None,
        key: Callable[..., Any] | None,
        ignore: frozenset[str],
    ) -> None:
        self.prefix = check_prefix(prefix) if prefix is not None else _default_prefix(fn)
        self._key_of = key
        self._signature = inspect.signature(fn)
        self._ignore = ignore
        unknown = ignore - set(self._signature.parameters)
        if unknown:
            raise ValueError(
                f"cached(ignore=...) names {sorted(unknown)}, not parameters of {self.prefix}; "
                f"its parameters: {list(self._signature.parameters)}"
            )

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The key of a call with ``args`` and ``kwargs``; ``TypeError`` naming what it cannot hold."""
        if self._key_of is not None:
            value = self._key_of(*args, **kwargs)
            try:
                return self._layout(value)
            except UnsupportedKeyValue as exc:
                raise TypeError(f"cannot cache {self.prefix}: the value returned by key=: {exc}") from None
        bound = self._signature.bind(*args, **kwargs)  # a wrong call fails as calling fn would
        bound.apply_defaults()
        parts = tuple((name, value) for name, value in bound.arguments.items() if name not in self._ignore)
        try:
            return self._layout(parts)
        except UnsupportedKeyValue:
            self._name_the_argument(parts)
            raise

    def _layout(self, value: Any) -> str:
        return f"{self.prefix}:{KEY_FORMAT}:{digest(value)}"

    def _name_the_argument(self, parts: tuple[tuple[str, Any], ...]) -> None:
        """Raise ``TypeError`` naming the first argument the key cannot hold, and how to fix it."""
        for name, value in parts:
            try:
                canonical_bytes(value)
            except UnsupportedKeyValue as exc:
                raise TypeError(
                    f"cannot cache {self.prefix}: argument {name!r}: {exc}. Or, in @cached(...), leave "
                    f"it out of the key with ignore=({name!r},), or choose the key with key=..."
                ) from None


def check_prefix(prefix: Any) -> str:
    """Return ``prefix`` if keys can start with it; ``TypeError``/``ValueError`` saying why not."""
    if not isinstance(prefix, str) or not prefix:
        raise TypeError(f"cached(prefix=...) must be a non-empty str, got {prefix!r:.60}")
    if len(prefix) > MAX_PREFIX_LENGTH:
        raise ValueError(
            f"cached() key prefix is {len(prefix)} characters, over {MAX_PREFIX_LENGTH} "
            f"(keys hold at most {MAX_KEY_LENGTH}, with the format and digest): {prefix[:60]!r}..."
        )
    try:
        prefix.encode()
    except UnicodeEncodeError:
        raise ValueError(f"cached() key prefix is not valid Unicode text: {prefix[:60]!r}") from None
    return prefix


def _default_prefix(fn: Callable[..., Any]) -> str:
    """``module.qualname`` of ``fn``; ``ValueError`` where that does not name it alone."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<lambda>" in qualname:
        # Every lambda of a module is "<lambda>"; a partial or a callable object has no qualname.
        raise ValueError(
            f"cached() cannot name {qualname or type(fn).__name__} uniquely (a lambda, a partial or "
            "a callable object): give it prefix='...'"
        )
    return check_prefix(f"{module}.{qualname}")
