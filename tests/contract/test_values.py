"""What a value may be, and that it reads back equal to what was set."""

from __future__ import annotations

import math
from typing import Any

import pytest

from src.interfaces.llm.cache import CacheSerializationError, ICacheProvider

ROUND_TRIP = {
    "none": None,
    "true": True,
    "int": 42,
    "negative-int": -7,
    "int64-max": 2**63 - 1,
    "int64-min": -(2**63),
    "uint64-max": 2**64 - 1,
    "float": 3.25,
    "float-inf": float("inf"),
    "str": "héllo wörld",
    "empty-str": "",
    "bytes": b"\x00\xff raw",
    "list": [1, "two", 3.0, None],
    "nested": {"a": [{"b": {"c": [1, 2, {"d": None}]}}]},
    "int-keys": {1: "one", 2: "two"},
    "mixed-keys": {None: 0, True: 1, 2.5: "x", b"k": "bytes key", "s": "str key"},
    "llm-record": {
        "model": "gpt-4o",
        "text": "The answer is 42." * 10,
        "usage": {"prompt_tokens": 12, "completion_tokens": 30},
        "finish_reason": "stop",
        "cached": False,
    },
}


@pytest.mark.parametrize("value", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_supported_value_round_trips_equal_and_same_type(cache_provider: ICacheProvider, value: Any) -> None:
    cache_provider.set("v", value)
    got = cache_provider.get("v", default=object())
    assert got == value
    assert type(got) is type(value)


def test_tuple_reads_back_as_list(cache_provider: ICacheProvider) -> None:
    cache_provider.set("t", (1, (2, 3), "x"))
    assert cache_provider.get("t") == [1, [2, 3], "x"]


def test_tuple_dict_keys_read_back_as_tuples(cache_provider: ICacheProvider) -> None:
    value = {(1, 2): "pair", (1, (2, 3)): "nested", "plain": [1]}
    cache_provider.set("t", value)
    assert cache_provider.get("t") == value


def test_nan_round_trips_as_nan(cache_provider: ICacheProvider) -> None:
    cache_provider.set("nan", float("nan"))
    got = cache_provider.get("nan")
    assert isinstance(got, float)
    assert math.isnan(got)


def test_value_is_isolated_from_later_mutation(cache_provider: ICacheProvider) -> None:
    value: dict[str, Any] = {"messages": ["hi"], "meta": {"n": 1}}
    cache_provider.set("k", value)
    value["messages"].append("mutated")
    value["meta"]["n"] = 2
    first = cache_provider.get("k")
    assert first == {"messages": ["hi"], "meta": {"n": 1}}
    first["messages"].append("mutated read")
    assert cache_provider.get("k") == {"messages": ["hi"], "meta": {"n": 1}}


class _Custom:
    pass


UNSUPPORTED = {
    "set": {1, 2},
    "frozenset": frozenset({1}),
    "object": _Custom(),
    "int-too-big": 2**64,
    "int-too-small": -(2**63) - 1,
    "nested-set": {"ok": [1, {"bad": {3}}]},
    "complex": 1j,
    "function": len,
}


@pytest.mark.parametrize("value", UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_unsupported_value_raises_and_writes_nothing(cache_provider: ICacheProvider, value: Any) -> None:
    cache_provider.set("k", "previous")
    with pytest.raises(CacheSerializationError):
        cache_provider.set("k", value)
    with pytest.raises(CacheSerializationError):
        cache_provider.set("new-key", value)
    assert cache_provider.get("k") == "previous"
    assert cache_provider.exists("new-key") is False


def test_serialization_error_is_a_type_error_and_names_the_type(cache_provider: ICacheProvider) -> None:
    with pytest.raises(TypeError, match="set"):
        cache_provider.set("k", {1})


def test_value_over_max_value_bytes_raises_and_writes_nothing(make_cache_provider: Any) -> None:
    provider: ICacheProvider = make_cache_provider(max_value_bytes=1024)
    provider.set("k", "x" * 500)
    with pytest.raises(CacheSerializationError, match="max_value_bytes"):
        provider.set("k", "x" * 2000)
    with pytest.raises(CacheSerializationError, match="max_value_bytes"):
        provider.set_many({"a": "ok", "b": "x" * 2000})
    assert provider.get("k") == "x" * 500
    assert provider.exists("a") is False


def test_large_value_under_the_limit_round_trips(cache_provider: ICacheProvider) -> None:
    value = {"text": "y" * 200_000, "chunks": list(range(10_000))}
    cache_provider.set("big", value)
    assert cache_provider.get("big") == value
