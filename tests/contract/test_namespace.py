"""clear / get_size / cleanup_expired: whole-namespace operations that touch nothing else."""

from __future__ import annotations

from src.interfaces.llm.cache import ICacheProvider
from tests.conftest import ProviderFactory


def test_get_size_counts_live_entries(cache_provider: ICacheProvider) -> None:
    assert cache_provider.get_size() == 0
    cache_provider.set_many({"a": 1, "b": 2})
    cache_provider.set("c", None)
    assert cache_provider.get_size() == 3
    cache_provider.delete("a")
    assert cache_provider.get_size() == 2


def test_clear_removes_everything_and_returns_the_count(cache_provider: ICacheProvider) -> None:
    cache_provider.set_many({f"k{i}": i for i in range(900)})  # more than one SCAN/UNLINK batch
    assert cache_provider.clear() == 900
    assert cache_provider.get_size() == 0
    assert cache_provider.get("k1") is None
    assert cache_provider.clear() == 0


def test_provider_is_usable_after_clear(cache_provider: ICacheProvider) -> None:
    cache_provider.set("a", 1)
    cache_provider.clear()
    cache_provider.set("a", 2)
    assert cache_provider.get("a") == 2


def test_clear_leaves_other_providers_alone(make_cache_provider: ProviderFactory) -> None:
    mine, theirs = make_cache_provider(), make_cache_provider()
    mine.set("shared-name", "mine")
    theirs.set("shared-name", "theirs")
    theirs.set("only-theirs", 1)
    assert mine.clear() == 1
    assert theirs.get_many(["shared-name", "only-theirs"]) == {"shared-name": "theirs", "only-theirs": 1}
    assert theirs.get_size() == 2


def test_cleanup_expired_on_fresh_entries_purges_nothing(cache_provider: ICacheProvider) -> None:
    cache_provider.set("a", 1)
    assert cache_provider.cleanup_expired() == 0
    assert cache_provider.get("a") == 1
