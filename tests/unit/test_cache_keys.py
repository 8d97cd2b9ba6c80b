"""Canonical key encoding (``src/interfaces/llm/cache_keys.py``): typed, structural, stable.

Each collision a peer library makes has its test here at the encoding level; the same pitfalls
through the ``cached`` decorator and a real provider are in ``tests/contract/test_cached_decorator.py``.
"""

from __future__ import annotations

import enum
import math
import os
import subprocess
import sys
from collections import OrderedDict, namedtuple
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from src.interfaces.llm.cache_keys import ENCODING_VERSION, UnsupportedKeyValue, canonical_bytes, digest

ROOT = Path(__file__).resolve().parents[2]


class Colour(enum.Enum):
    RED = 1
    CRIMSON = 1  # an alias: the same member as RED


class Size(enum.IntEnum):
    ONE = 1


class Other(enum.Enum):
    RED = 1


@dataclass(frozen=True)
class Point:
    x: int
    y: int
    note: str = field(default="", compare=False)


@dataclass(frozen=True)
class Vector:
    x: int
    y: int


class Pair(NamedTuple):
    x: int
    y: int


PairOld = namedtuple("PairOld", "x y")


class User:
    def __init__(self, user_id: int) -> None:
        self.user_id = user_id

    def __cache_key__(self) -> Any:
        return self.user_id


class Account:
    def __init__(self, account_id: int) -> None:
        self.account_id = account_id

    def __cache_key__(self) -> Any:
        return self.account_id


class Label(str):
    pass


#: Values that must all have distinct encodings: each neighbour is a collision seen somewhere.
DISTINCT: list[Any] = [
    None, "", b"", (), [], {}, set(), frozenset(), 0, False, 0.0, -0.0,
    1, "1", 1.0, True, b"1", (1,), [1], {1}, frozenset({1}),
    ("x y", "z"), ("x", "y z"), ("x", "y", "z"), "x y z", ["x y", "z"],
    ("ab",), ("a", "b"), ((1, 2),), (1, (2,)), ((1,), 2),
    {"a": 1}, {"a": 1.0}, {"a": "1"}, (("a", 1),), {("a", 1)},
    -1, 255, 2**64, -(2**64), 2**200, math.inf, -math.inf, math.nan,
    Colour.RED, Other.RED, Size.ONE, Point(1, 2), Vector(1, 2), Pair(1, 2), PairOld(1, 2), (1, 2),
    User(1), Account(1), User, Account, "tests.unit.test_cache_keys.User",
    "\ud800", "é", "e\u0301",
]  # fmt: skip


def test_every_distinct_value_has_its_own_encoding() -> None:
    encodings = [canonical_bytes(value) for value in DISTINCT]
    clashes = [(a, b) for i, a in enumerate(DISTINCT) for b in DISTINCT[i + 1 :] if digest(a) == digest(b)]
    assert clashes == []
    assert len(set(encodings)) == len(DISTINCT)


def test_strings_joined_by_spaces_do_not_collide() -> None:
    # dogpile's default key generator joins the arguments with spaces
    assert digest(("x y", "z")) != digest(("x", "y z"))


def test_an_int_and_its_string_do_not_collide() -> None:
    # dogpile's default key generator formats every argument with str()
    assert digest(1) != digest("1")
    assert digest(True) != digest(1)
    assert digest(1) != digest(1.0)


def test_none_and_the_empty_string_do_not_collide() -> None:
    # cashews' key template renders None and "" alike
    assert digest(None) != digest("")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"a": 1, "b": [2, 3]}, {"b": [2, 3], "a": 1}),
        ({"x", "y", "z", "w"}, {"w", "z", "y", "x"}),
        (frozenset({1, "1", (1,)}), frozenset({(1,), "1", 1})),
        (Colour.CRIMSON, Colour.RED),
        (Point(1, 2, note="a"), Point(1, 2, note="b")),  # note is not compared, so not keyed
        (float("nan"), -float("nan")),
        (User(7), User(7)),
        (2**200, 2**200),
    ],
    ids=[
        "dict-order",
        "set-order",
        "mixed-set",
        "enum-alias",
        "uncompared-field",
        "nan",
        "cache-key",
        "bigint",
    ],
)
def test_equal_values_share_an_encoding(a: Any, b: Any) -> None:
    assert canonical_bytes(a) == canonical_bytes(b)


def test_the_encoding_is_pinned() -> None:
    # A change of these bytes orphans every cached entry: it must come with a new ENCODING_VERSION.
    assert canonical_bytes((None, True, -1, "é", b"\x00", [1.5], {"k": frozenset()})) == bytes.fromhex(
        "01"
        "74" + "0000000000000007"
        "4e"
        "54"
        "69" + "0000000000000001" + "ff"
        "73" + "0000000000000002" + "c3a9"
        "62" + "0000000000000001" + "00"
        "6c" + "0000000000000001" + "66" + "3ff8000000000000"
        "64" + "0000000000000001" + "73" + "0000000000000001" + "6b" + "5a" + "0000000000000000"
    )
    assert ENCODING_VERSION == 1
    # sha256 of 01 73 0000000000000000, as `printf "\x01\x73\0\0\0\0\0\0\0\0" | sha256sum` gives it
    assert digest("") == "ce5008e3bdc1e40e44376e3d2d0babbe3030a1be1a946d7f36f5139a62838e2b"


_IN_A_CHILD = """
import sys
from src.interfaces.llm.cache_keys import digest
from tests.unit.test_cache_keys import STABLE_VALUE
print(digest(STABLE_VALUE))
"""

#: Sets and dicts of strings: their iteration order depends on PYTHONHASHSEED.
STABLE_VALUE: Any = (
    {f"tag{i}" for i in range(50)},
    {f"k{i}": frozenset({f"v{i}", f"w{i}"}) for i in range(50)},
    Colour.RED,
    Point(1, 2),
    User(3),
)


@pytest.mark.parametrize("seed", ["0", "1", "12345"])
def test_digests_are_the_same_in_another_process_whatever_its_hash_seed(seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    child = subprocess.run(
        [sys.executable, "-c", _IN_A_CHILD], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert child.stdout.strip() == digest(STABLE_VALUE)


def test_digest_is_64_hex_characters() -> None:
    value = digest({"any": ["value", 1]})
    assert len(value) == 64
    assert int(value, 16) >= 0


@pytest.mark.parametrize(
    ("value", "path", "named"),
    [
        (object(), "", "builtins.object"),
        ([1, {"k": (2, object())}], " at [1]['k'][1]", "builtins.object"),
        ({"s": {object()}}, " at ['s']{member}", "builtins.object"),
        (Point(1, object()), " at .y", "builtins.object"),  # type: ignore[arg-type]
        (Label("x"), "", "a subclass of str"),
        (OrderedDict(a=1), "", "a subclass of dict"),
        (bytearray(b"x"), "", "builtins.bytearray"),
    ],
    ids=["object", "nested", "set-member", "dataclass-field", "str-subclass", "ordered-dict", "bytearray"],
)
def test_an_unsupported_value_names_its_type_its_place_and_the_fix(value: Any, path: str, named: str) -> None:
    with pytest.raises(TypeError) as caught:
        canonical_bytes(value)
    assert isinstance(caught.value, UnsupportedKeyValue)
    message = str(caught.value)
    assert named in message
    assert path in message
    assert "__cache_key__" in message


def test_a_value_containing_itself_is_a_value_error() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        canonical_bytes(loop)


def test_a_cache_key_that_returns_its_own_object_is_a_value_error() -> None:
    class Selfish:
        def __cache_key__(self) -> Any:
            return self

    with pytest.raises(ValueError, match="__cache_key__"):
        canonical_bytes(Selfish())
