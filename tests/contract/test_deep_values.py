"""Deeply nested values: what ``set`` accepts, ``get`` returns - at any depth, from any caller's stack.

A value is either refused at ``set`` (``CacheSerializationError``, nothing written) or read back
equal; never stored and then read as "undecodable" (a miss). Depths go up to the deepest msgpack
itself packs, and each round trip also runs near the interpreter's recursion limit, so a threshold
that depended on the caller's stack would show.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import msgpack
import pytest

from src.interfaces.llm.cache import CacheSerializationError, ICacheProvider

#: Frames left to the provider's own call when it runs "from a deep stack".
HEADROOM = 100


def nested_tuple(depth: int) -> tuple[Any, ...]:
    """``((((),),),)`` with ``depth`` tuples around the innermost one."""
    key: tuple[Any, ...] = ()
    for _ in range(depth):
        key = (key,)
    return key


def nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def tuple_key(depth: int) -> dict[Any, str]:
    return {nested_tuple(depth): "v"}


def deepest_msgpack_packs(build: Callable[[int], Any]) -> int:
    """The largest depth at which ``msgpack.packb(build(depth))`` still succeeds."""
    low, high = 0, 5000
    while low < high:
        middle = (low + high + 1) // 2
        try:
            msgpack.packb(build(middle))
        except ValueError:  # msgpack's "recursion limit exceeded"
            high = middle - 1
        else:
            low = middle
    return low


KEY_LIMIT = deepest_msgpack_packs(tuple_key)
LIST_LIMIT = deepest_msgpack_packs(nested_list)
CASES = [
    *[(tuple_key, depth) for depth in (10, 500, KEY_LIMIT - 1, KEY_LIMIT)],
    *[(nested_list, depth) for depth in (10, 500, LIST_LIMIT - 1, LIST_LIMIT)],
]


def near_recursion_limit(call: Callable[[], Any]) -> Any:
    """``call()`` with only ``HEADROOM`` frames left before the recursion limit."""
    depth = 0
    frame = sys._getframe()
    while frame.f_back is not None:
        frame, depth = frame.f_back, depth + 1

    def descend(levels: int) -> Any:
        return call() if levels <= 0 else descend(levels - 1)

    return descend(sys.getrecursionlimit() - depth - HEADROOM)


def same(found: Any, expected: Any) -> bool:
    """``found == expected`` for values deeper than the recursion limit allows to compare.

    Only the comparison gets the higher limit (tuple and dict equality recurse in C, counting
    frames); the provider's calls ran under the normal one.
    """
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 3000)
    try:
        return bool(found == expected)
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.parametrize("stack", ["shallow", "deep"])
@pytest.mark.parametrize(
    ("build", "depth"), CASES, ids=[f"{build.__name__}-{depth}" for build, depth in CASES]
)
def test_what_set_accepts_get_returns(
    cache_provider: ICacheProvider, build: Callable[[int], Any], depth: int, stack: str
) -> None:
    value = build(depth)
    cache_provider.exists("warm-up")  # connect (and discover a cluster) before going deep

    def round_trip() -> tuple[bool, Any]:
        try:
            cache_provider.set("deep", value)
        except CacheSerializationError:
            return False, cache_provider.exists("deep")
        return True, cache_provider.get("deep", "<miss>")

    stored, found = near_recursion_limit(round_trip) if stack == "deep" else round_trip()
    if stored:
        assert same(found, value)
    else:
        assert found is False  # refused: nothing written
    if depth <= 500:
        assert stored  # a reasonable depth is never refused


def test_too_deep_is_refused_saying_so(cache_provider: ICacheProvider) -> None:
    with pytest.raises(CacheSerializationError, match="nested"):
        cache_provider.set("deep", nested_list(LIST_LIMIT + 1))
    with pytest.raises(CacheSerializationError, match="nested"):
        cache_provider.set_many({"ok": 1, "deep": tuple_key(KEY_LIMIT)})
    assert cache_provider.get_many(["ok", "deep"]) == {}
