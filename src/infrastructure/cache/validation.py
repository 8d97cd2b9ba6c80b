"""Key and TTL rules shared by every provider, so that all of them accept and refuse the same input."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: Longest key accepted, in characters. Redis would take 512 MB, but a key this long is a bug
#: (a whole prompt instead of its hash) and should fail loudly and alike on every provider.
MAX_KEY_LENGTH = 1024

#: Longest TTL accepted, in seconds (about 317 years). Every provider and the configuration share
#: this bound, so that a TTL one of them takes is never refused by another: Redis refuses an expiry
#: past ~9.2e15 s, and a bound far below it keeps ``PX`` in milliseconds exact. 0 means "never".
MAX_TTL = 10_000_000_000


def check_key(key: Any) -> str:
    """Return ``key`` if it is a valid cache key; raise ``TypeError``/``ValueError`` showing it otherwise."""
    if type(key) is str and key and len(key) <= MAX_KEY_LENGTH and key.isascii():  # the common key
        return key
    return _check_text(key, "cache key", MAX_KEY_LENGTH)


#: Longest namespace name, in characters, and deepest nesting: a namespace is a scope (a tenant, an
#: agent, a session), not a key - a name this long or a path this deep is a bug.
MAX_NAMESPACE_LENGTH = 200
MAX_NAMESPACE_DEPTH = 16


def check_namespace(name: Any, depth: int) -> str:
    """Return ``name`` if it can name a namespace nested ``depth`` deep (1 = a child of the cache).

    Raises ``TypeError``/``ValueError`` showing it otherwise: the rules of keys, shorter, and no
    deeper than :data:`MAX_NAMESPACE_DEPTH`.
    """
    _check_text(name, "namespace name", MAX_NAMESPACE_LENGTH)
    if depth > MAX_NAMESPACE_DEPTH:
        raise ValueError(
            f"namespaces nest at most {MAX_NAMESPACE_DEPTH} deep; {name!r:.100} would be {depth}"
        )
    return str(name)


def _check_text(text: Any, what: str, limit: int) -> str:
    """``text`` if it is a non-empty ``str`` of at most ``limit`` characters of valid Unicode (what
    Redis keys and our storage names are made of); else the error naming ``what`` and showing it."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}: {text!r:.100}")
    if not text:
        raise ValueError(f"{what} must be a non-empty str, got ''")
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text)} characters long, the limit is {limit}: {text!r:.100}")
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError as exc:
            raise ValueError(f"{what} is not valid Unicode text ({exc.reason}): {text!r:.100}") from None
    return text


def check_keys(keys: Iterable[str]) -> list[str]:
    """Validate every key of a batch before any is used; duplicates are dropped, order kept."""
    if isinstance(keys, str | bytes):
        raise TypeError(f"expected an iterable of keys, got a single {type(keys).__name__}: {keys!r:.100}")
    if not isinstance(keys, list | tuple):
        keys = list(keys)  # an iterator is read once, here
    try:
        unique = list(dict.fromkeys(keys))  # dedupe in C first; validate each distinct key after
    except TypeError:  # an unhashable key: let check_key name it
        return list(dict.fromkeys(check_key(key) for key in keys))
    for key in unique:
        # The checks of check_key, inlined for the common key; anything unusual gets the full call.
        if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH or not key.isascii():
            check_key(key)
    return unique


def resolve_ttl(ttl: Any, default_ttl: float) -> float:
    """Return the TTL in seconds to apply: ``0.0`` means no expiry.

    ``None`` selects ``default_ttl``. Negative, NaN, infinite, non-numeric values (``bool``
    included) and values above :data:`MAX_TTL` raise ``ValueError``. A positive TTL below one
    millisecond is rounded up to one millisecond, so that it still expires rather than being taken
    for "never".
    """
    if ttl is None:
        return default_ttl
    kind = type(ttl)
    # The common TTL, a plain int or float of at least 1 ms, in two comparisons (NaN and infinity
    # fail the range test, bool is its own type): everything else takes the full checks below.
    if (kind is int or kind is float) and 0.001 <= ttl <= MAX_TTL:
        return float(ttl)
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        raise ValueError(f"ttl must be a number of seconds or None, got {type(ttl).__name__}: {ttl!r:.100}")
    if not math.isfinite(ttl) or ttl < 0:
        raise ValueError(f"ttl must be >= 0 seconds (0 = never expires), got {ttl!r}")
    if ttl > MAX_TTL:
        raise ValueError(f"ttl must be at most {MAX_TTL} seconds (use 0 for never expires), got {ttl!r}")
    if 0 < ttl < 0.001:
        return 0.001
    return float(ttl)


def check_mapping(mapping: Any) -> Mapping[Any, Any]:
    """Return ``mapping`` if it is a ``Mapping`` (what ``set_many`` takes); else raise ``TypeError``.

    Both providers call it first, so a list of pairs or None fails alike everywhere, with a message
    that says what to pass, rather than as whatever iterating it happens to raise (AttributeError on
    ``.items()``, a key check complaining about a tuple).
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(
            "set_many expects a mapping of key to value (a dict such as {'key': value}), "
            f"got {type(mapping).__name__}"
        )
    return mapping
