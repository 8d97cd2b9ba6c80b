"""Each cache's ``compute:`` section is parsed into ``ComputeSettings``; errors name the key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from src.infrastructure.cache.compute.settings import ComputeSettings
from src.infrastructure.cache.config.cache_config import CacheConfig
from src.infrastructure.cache.config.loader import load_cache_config
from src.interfaces.llm.cache import CacheConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "global.yaml"


def compute_of(name: str, settings: Any, **cache: Any) -> ComputeSettings:
    config = CacheConfig.from_mapping({"providers": {name: {**cache, "compute": settings}}})
    return config.providers[name].compute


def test_every_cache_has_the_defaults_of_compute_settings() -> None:
    config = CacheConfig.from_mapping({"providers": {"sessions": {"type": "memory"}}})
    assert {name: entry.compute for name, entry in config.providers.items()} == {
        "sessions": ComputeSettings(),
        "memory": ComputeSettings(),
        "redis": ComputeSettings(),
    }
    assert compute_of("redis", None) == ComputeSettings()  # `compute:` with nothing under it


def test_every_setting_is_read_and_converted() -> None:
    settings = {
        "lease_ttl": "30",
        "wait_timeout": 5,
        "stale_ttl": "600",
        "stale_while_revalidate": "yes",
        "stale_if_error": True,
        "beta": "1.0",
    }
    assert compute_of("llm", settings, type="redis") == ComputeSettings(
        lease_ttl=30, wait_timeout=5, stale_ttl=600, stale_while_revalidate=True, stale_if_error=True, beta=1
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"lease_ttl": 0}, "cache.providers.redis.compute.lease_ttl: must be between 0.001 and 86400, got 0"),
        (
            {"wait_timeout": 1e12},
            "cache.providers.redis.compute.wait_timeout: must be between 0.001 and 86400",
        ),
        ({"stale_ttl": -1}, "cache.providers.redis.compute.stale_ttl: must be between 0 and"),
        ({"beta": "often"}, "cache.providers.redis.compute.beta: expected a number, got 'often'"),
        ({"stale_if_error": "maybe"}, "cache.providers.redis.compute.stale_if_error: expected true or false"),
        (
            {"leese_ttl": 3},
            "cache.providers.redis.compute.leese_ttl: unknown setting; did you mean 'lease_ttl'?",
        ),
        (5, "cache.providers.redis.compute: expected a mapping of settings, got int"),
    ],
)
def test_a_bad_compute_setting_names_its_key_path(settings: Any, message: str) -> None:
    with pytest.raises(CacheConfigError) as refused:
        compute_of("redis", settings)
    assert str(refused.value).startswith(message)


def test_errors_in_a_named_cache_name_it() -> None:
    with pytest.raises(CacheConfigError, match=r"^cache\.providers\.tool_results\.compute\.lease_ttl: must"):
        compute_of("tool_results", {"lease_ttl": -1}, type="memory")


def test_the_shipped_file_documents_compute_for_both_caches_with_the_defaults() -> None:
    text = SHIPPED.read_text()
    assert text.count("      compute:\n") == 2
    config = load_cache_config(SHIPPED, environ={})
    assert config.providers["memory"].compute == config.providers["redis"].compute == ComputeSettings()
