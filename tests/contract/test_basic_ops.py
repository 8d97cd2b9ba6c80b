"""get / set / delete / exists: the single-key contract, identical for every provider."""

from __future__ import annotations

from typing import Any

import pytest

from src.interfaces.llm.cache import ICacheProvider

MISSING = object()


def test_get_of_absent_key_returns_default(cache_provider: ICacheProvider) -> None:
    assert cache_provider.get("absent") is None
    assert cache_provider.get("absent", "fallback") == "fallback"
    assert cache_provider.get("absent", default=MISSING) is MISSING


def test_set_then_get_returns_value(cache_provider: ICacheProvider) -> None:
    cache_provider.set("greeting", "hello")
    assert cache_provider.get("greeting") == "hello"


def test_set_overwrites_value(cache_provider: ICacheProvider) -> None:
    cache_provider.set("k", "first")
    cache_provider.set("k", {"second": 2})
    assert cache_provider.get("k") == {"second": 2}


def test_stored_none_is_a_hit_not_a_miss(cache_provider: ICacheProvider) -> None:
    cache_provider.set("nothing", None)
    assert cache_provider.exists("nothing") is True
    assert cache_provider.get("nothing", default=MISSING) is None
    assert cache_provider.exists("never-set") is False


def test_falsy_values_are_hits(cache_provider: ICacheProvider) -> None:
    for key, value in {
        "zero": 0,
        "false": False,
        "empty-str": "",
        "empty-list": [],
        "empty-dict": {},
    }.items():
        cache_provider.set(key, value)
        got = cache_provider.get(key, default=MISSING)
        assert got == value
        assert type(got) is type(value)


def test_delete_reports_whether_an_entry_was_removed(cache_provider: ICacheProvider) -> None:
    cache_provider.set("k", 1)
    assert cache_provider.delete("k") is True
    assert cache_provider.delete("k") is False
    assert cache_provider.exists("k") is False
    assert cache_provider.get("k") is None


def test_delete_of_stored_none_counts_as_removed(cache_provider: ICacheProvider) -> None:
    cache_provider.set("k", None)
    assert cache_provider.delete("k") is True


def test_exists_does_not_change_value(cache_provider: ICacheProvider) -> None:
    cache_provider.set("k", [1, 2])
    assert cache_provider.exists("k")
    assert cache_provider.get("k") == [1, 2]


def test_keys_are_case_and_whitespace_sensitive(cache_provider: ICacheProvider) -> None:
    cache_provider.set("Key", "upper")
    cache_provider.set("key", "lower")
    cache_provider.set("key ", "trailing space")
    assert [cache_provider.get(k) for k in ("Key", "key", "key ")] == ["upper", "lower", "trailing space"]


@pytest.mark.parametrize(
    "key",
    [
        "with space",
        "new\nline",
        "tab\there",
        "unicodé-ключ-键-🔑",
        "glob*?[abc]\\",
        "colons:in:key",
        "x" * 1024,
        "{hash}tag",
    ],
    ids=["space", "newline", "tab", "unicode", "glob", "colons", "max-length", "braces"],
)
def test_unusual_keys_round_trip_independently(cache_provider: ICacheProvider, key: str) -> None:
    cache_provider.set(key, key)
    cache_provider.set("neighbour", "untouched")
    assert cache_provider.get(key) == key
    assert cache_provider.exists(key)
    assert cache_provider.delete(key) is True
    assert cache_provider.get("neighbour") == "untouched"


@pytest.mark.parametrize("key", [None, 1, 1.5, b"bytes", ("t",), ["l"]], ids=repr)
def test_non_str_key_raises_type_error_showing_the_key(cache_provider: ICacheProvider, key: Any) -> None:
    for call in (
        lambda: cache_provider.get(key),
        lambda: cache_provider.set(key, 1),
        lambda: cache_provider.delete(key),
        lambda: cache_provider.exists(key),
    ):
        with pytest.raises(TypeError, match="key"):
            call()


@pytest.mark.parametrize(
    ("key", "message"),
    [("", "non-empty"), ("x" * 1025, "1025 characters"), ("bad\ud800surrogate", "Unicode")],
    ids=["empty", "too-long", "lone-surrogate"],
)
def test_invalid_str_key_raises_value_error_and_writes_nothing(
    cache_provider: ICacheProvider, key: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cache_provider.set(key, "value")
    with pytest.raises(ValueError, match=message):
        cache_provider.get(key)
    assert cache_provider.get_size() == 0


def test_failed_set_keeps_previous_value(cache_provider: ICacheProvider) -> None:
    cache_provider.set("k", "kept")
    with pytest.raises(TypeError):
        cache_provider.set("k", {1, 2, 3})
    with pytest.raises(ValueError, match="ttl"):
        cache_provider.set("k", "new", ttl=-1)
    assert cache_provider.get("k") == "kept"
