"""Fixtures of the LLM-response cache tests: the cache over each provider, and requests.

``make_llm_cache`` is parametrised over the memory provider, Redis, and Redis as services get it
(behind the failure policy): every test that takes it runs on the three. Each cache it builds is
over a fresh provider (an empty namespace).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from src.infrastructure.cache.config.llm_config import LLMCacheConfig
from src.infrastructure.cache.llm.response_cache import LLMResponseCache
from src.interfaces.llm.cache import ICacheProvider

LLM_PROVIDERS = ["memory", "redis", "resilient_redis"]

MakeLLMCache = Callable[..., LLMResponseCache]


@pytest.fixture(params=LLM_PROVIDERS)
def make_llm_provider(request: pytest.FixtureRequest) -> Callable[..., ICacheProvider]:
    """The factory of each provider in turn (``make(**settings)``, settings of its config class)."""
    factory: Callable[..., ICacheProvider] = request.getfixturevalue(f"make_{request.param}_provider")
    return factory


@pytest.fixture
def make_llm_cache(make_llm_provider: Callable[..., ICacheProvider]) -> MakeLLMCache:
    """``make(provider_settings=None, **llm_settings)``: an LLM cache over a fresh provider."""

    def make(provider_settings: dict[str, Any] | None = None, **llm_settings: Any) -> LLMResponseCache:
        return LLMResponseCache(
            make_llm_provider(**(provider_settings or {})), LLMCacheConfig(**llm_settings)
        )

    return make


@pytest.fixture
def llm_cache(make_llm_cache: MakeLLMCache) -> LLMResponseCache:
    """An LLM cache with the default settings over each provider in turn."""
    return make_llm_cache()
