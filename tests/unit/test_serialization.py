"""The msgpack serializer: version byte, what it refuses, and what it treats as undecodable."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

import msgpack
import pytest

from src.infrastructure.cache import serialization
from src.interfaces.llm.cache import CacheSerializationError


def test_payload_starts_with_the_format_version() -> None:
    assert serialization.dumps("x")[:1] == serialization.FORMAT_VERSION


def test_round_trip_keeps_bytes_and_str_apart() -> None:
    value = {"s": "text", "b": b"text"}
    assert serialization.loads(serialization.dumps(value)) == value


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"plain text written by another program",
        b"\x80\x04\x95pickle",
        serialization.FORMAT_VERSION,  # version byte, then nothing
        serialization.FORMAT_VERSION + b"\xc1",  # a byte msgpack never uses
        serialization.FORMAT_VERSION + msgpack.packb("ok") + b"trailing",
        serialization.FORMAT_VERSION + b"\xa5\xff\xfe\xfd\xfc\xfb",  # invalid UTF-8 in a str
        b"\x02" + msgpack.packb("from a future format"),
    ],
    ids=["empty", "text", "pickle", "truncated", "reserved", "trailing", "bad-utf8", "future-version"],
)
def test_foreign_or_corrupt_payload_raises_decode_error(payload: bytes) -> None:
    with pytest.raises(serialization.PayloadDecodeError):
        serialization.loads(payload)


def test_unsupported_value_error_names_the_supported_types() -> None:
    with pytest.raises(CacheSerializationError, match="supported: None, bool"):
        serialization.dumps(object())


def test_no_pickle_anywhere_in_the_package() -> None:
    from pathlib import Path

    sources = Path(serialization.__file__).parents[2].rglob("*.py")
    offenders = [
        str(path)
        for path in sources
        if "import pickle" in path.read_text() or "pickle.loads" in path.read_text()
    ]
    assert offenders == []


# ---------------------------------------------------------------- deep nesting


def _chain(depth: int, wrap: Callable[[Any], Any], leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = wrap(value)
    return value


SHAPES: dict[str, Callable[[int], Any]] = {
    "lists": lambda depth: _chain(depth, lambda v: [v], []),
    "dicts": lambda depth: _chain(depth, lambda v: {"k": v}, 1),
    "tuple-key": lambda depth: {_chain(depth, lambda v: (v,), ()): 1},
    "lists-and-dicts": lambda depth: _chain(depth, lambda v: [{"k": v}], None),
    "tuple-key-of-dicts": lambda depth: _chain(depth, lambda v: {(1, (2,)): v}, {(3,): 4}),
}


def _deepest_packed(build: Callable[[int], Any]) -> int:
    low, high = 0, 5000
    while low < high:
        middle = (low + high + 1) // 2
        try:
            msgpack.packb(build(middle))
        except ValueError:
            high = middle - 1
        else:
            low = middle
    return low


def _equal(found: Any, expected: Any) -> bool:
    """``==`` with room for comparing ~1000 levels (tuple and dict equality count frames)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 3000)
    try:
        return bool(found == expected)
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.parametrize("shape", SHAPES)
def test_up_to_the_deepest_msgpack_packs_what_dumps_accepts_loads_returns(shape: str) -> None:
    build = SHAPES[shape]
    edge = _deepest_packed(build)
    accepted, refusals = [], []
    for depth in range(edge - 3, edge + 2):
        value = build(depth)
        try:
            payload = serialization.dumps(value)
        except CacheSerializationError as exc:
            refusals.append(str(exc))
            continue
        assert _equal(serialization.loads(payload), value), depth
        accepted.append(depth)
    assert refusals  # msgpack's own limit + 1 at least
    assert all("nested too deeply to be read back" in refusal for refusal in refusals)
    assert accepted  # the edge is right below msgpack's own: only the last level or two go
    assert min(accepted) == edge - 3
    assert max(accepted) >= edge - 1


def test_a_deep_tuple_key_reads_back_near_the_recursion_limit() -> None:
    value = SHAPES["tuple-key"](900)
    payload = serialization.dumps(value)

    def descend(levels: int) -> Any:
        return serialization.loads(payload) if levels <= 0 else descend(levels - 1)

    depth = len(inspect.stack(0))
    assert _equal(descend(sys.getrecursionlimit() - depth - 20), value)


def test_a_shallow_value_is_never_taken_for_too_deep() -> None:
    wide = {"text": "word " * 2000, "rows": [[i, str(i), {"n": i}] for i in range(500)]}
    assert serialization.loads(serialization.dumps(wide)) == wide
