"""get_many / set_many / delete_many: batch forms with the same rules as single keys."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from src.interfaces.llm.cache import CacheSerializationError, ICacheProvider


def test_get_many_returns_present_keys_only(cache_provider: ICacheProvider) -> None:
    cache_provider.set_many({"a": 1, "b": None, "c": [3]})
    assert cache_provider.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": None, "c": [3]}


def test_get_many_accepts_any_iterable_and_collapses_duplicates(cache_provider: ICacheProvider) -> None:
    cache_provider.set("a", 1)
    assert cache_provider.get_many(k for k in ["a", "a", "x"]) == {"a": 1}
    assert cache_provider.get_many([]) == {}
    assert cache_provider.get_many(("a",)) == {"a": 1}


def test_get_many_rejects_a_single_string(cache_provider: ICacheProvider) -> None:
    with pytest.raises(TypeError, match="iterable of keys"):
        cache_provider.get_many("abc")


def test_get_many_validates_every_key(cache_provider: ICacheProvider) -> None:
    with pytest.raises(TypeError, match="key"):
        cache_provider.get_many(["ok", 7])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="non-empty"):
        cache_provider.get_many(["ok", ""])


def test_set_many_writes_every_item(cache_provider: ICacheProvider) -> None:
    items = {f"key-{i}": {"i": i} for i in range(250)}
    cache_provider.set_many(items)
    assert cache_provider.get_many(items) == items
    assert cache_provider.get_size() == 250


def test_set_many_of_nothing_is_a_no_op(cache_provider: ICacheProvider) -> None:
    cache_provider.set_many({})
    assert cache_provider.get_size() == 0


def test_set_many_with_a_bad_value_writes_nothing(cache_provider: ICacheProvider) -> None:
    cache_provider.set("a", "before")
    with pytest.raises(CacheSerializationError):
        cache_provider.set_many({"a": "after", "b": 2, "c": {3}})
    assert cache_provider.get_many(["a", "b", "c"]) == {"a": "before"}


def test_set_many_with_a_bad_key_writes_nothing(cache_provider: ICacheProvider) -> None:
    with pytest.raises(TypeError, match="key"):
        cache_provider.set_many({"a": 1, 2: 2})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="non-empty"):
        cache_provider.set_many({"a": 1, "": 2})
    assert cache_provider.get_size() == 0


def test_delete_many_counts_only_removed_entries(cache_provider: ICacheProvider) -> None:
    cache_provider.set_many({"a": 1, "b": None, "c": 3})
    assert cache_provider.delete_many(["a", "b", "missing", "a"]) == 2
    assert cache_provider.get_many(["a", "b", "c"]) == {"c": 3}
    assert cache_provider.delete_many([]) == 0
    assert cache_provider.delete_many(["a"]) == 0


def test_delete_many_validates_every_key_before_deleting(cache_provider: ICacheProvider) -> None:
    cache_provider.set("a", 1)
    with pytest.raises(TypeError, match="key"):
        cache_provider.delete_many(["a", None])  # type: ignore[list-item]
    assert cache_provider.get("a") == 1


@pytest.mark.parametrize("not_a_mapping", [[("a", 1)], None, "ab", [["a", 1]]], ids=repr)
def test_set_many_refuses_what_is_not_a_mapping(
    cache_provider: ICacheProvider, not_a_mapping: object
) -> None:
    kind = type(not_a_mapping).__name__
    with pytest.raises(TypeError, match=rf"^set_many expects a mapping of key to value.*, got {kind}$"):
        cache_provider.set_many(not_a_mapping)  # type: ignore[arg-type]
    assert cache_provider.get_size() == 0


def test_set_many_takes_any_mapping(cache_provider: ICacheProvider) -> None:
    cache_provider.set_many(MappingProxyType({"a": 1, "b": [2]}))
    assert cache_provider.get_many(["a", "b"]) == {"a": 1, "b": [2]}
