"""health(), repr and closing: what every provider reports about itself."""

from __future__ import annotations

import asyncio

import pytest

from src.interfaces.llm.cache import ICacheProvider
from tests.conftest import ProviderFactory


def test_health_of_a_working_provider(cache_provider: ICacheProvider) -> None:
    report = cache_provider.health()
    assert report["healthy"] is True
    assert report["provider"] == cache_provider.name
    assert isinstance(report["detail"], str)
    assert report["detail"]


def test_provider_keeps_working_after_health_and_stats(cache_provider: ICacheProvider) -> None:
    cache_provider.health()
    cache_provider.get_stats()
    cache_provider.set("k", 1)
    assert cache_provider.get("k") == 1


@pytest.mark.mixed_colours
def test_close_and_aclose_are_idempotent(make_cache_provider: ProviderFactory) -> None:
    provider = make_cache_provider()
    provider.set("k", 1)
    asyncio.run(provider.aclose())
    asyncio.run(provider.aclose())
    provider.close()
    provider.close()


def test_repr_names_the_provider_class(cache_provider: ICacheProvider) -> None:
    assert type(cache_provider).__name__ in repr(cache_provider)
