"""Hostile or mistyped resilience settings fail at start-up naming the key path; the shipped
global.yaml exposes each of them as an environment variable, used verbatim whatever it contains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import CacheConfig, RedisCacheConfig
from src.infrastructure.cache.config.loader import load_cache_config
from src.interfaces.llm.cache import CacheConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "global.yaml"


@pytest.mark.parametrize(
    ("redis", "message"),
    [
        ({"on_eror": "raise"}, r"redis\.on_eror: unknown setting; did you mean 'on_error'"),
        ({"on_error": "fallbak"}, r"redis\.on_error: expected one of raise, fallback, ignore, got 'fallbak'"),
        ({"on_error": True}, r"redis\.on_error: expected one of raise, fallback, ignore"),
        ({"fallback_provider": "redis"}, r"redis\.fallback_provider: 'redis' cannot serve as the fallback"),
        ({"fallback_provider": "disk"}, r"redis\.fallback_provider: 'disk' cannot serve as the fallback"),
        (
            {"circuit_breaker": {"failure_treshold": 3}},
            r"circuit_breaker\.failure_treshold: unknown setting; did you mean 'failure_threshold'",
        ),
        (
            {"circuit_breaker": {"failure_threshold": 0}},
            r"circuit_breaker\.failure_threshold: must be between 1",
        ),
        (
            {"circuit_breaker": {"failure_threshold": "many"}},
            r"failure_threshold: expected an integer, got 'many'",
        ),
        ({"circuit_breaker": {"open_interval": 0}}, r"circuit_breaker\.open_interval: must be between 0\.01"),
        ({"circuit_breaker": {"open_interval": "nan"}}, r"circuit_breaker\.open_interval: expected a number"),
        ({"circuit_breaker": 5}, r"redis\.circuit_breaker: expected a mapping"),
        ({"max_pending_invalidations": 0}, r"redis\.max_pending_invalidations: must be >= 1, got 0"),
        ({"max_pending_invalidations": 1.5}, r"redis\.max_pending_invalidations: expected an integer"),
    ],
)
def test_bad_resilience_settings_name_the_key_path(redis: dict[str, Any], message: str) -> None:
    with pytest.raises(CacheConfigError, match=message):
        CacheConfig.from_mapping({"providers": {"redis": redis}})


def test_every_resilience_setting_has_its_environment_variable() -> None:
    config = load_cache_config(
        SHIPPED,
        environ={
            "AGENT_CACHE_REDIS_ON_ERROR": "raise",
            "AGENT_CACHE_REDIS_FALLBACK_PROVIDER": "memory",
            "AGENT_CACHE_REDIS_CIRCUIT_FAILURE_THRESHOLD": "7",
            "AGENT_CACHE_REDIS_CIRCUIT_OPEN_INTERVAL": "0.5",
            "AGENT_CACHE_REDIS_MAX_PENDING_INVALIDATIONS": "10",
        },
    )
    redis = config.providers["redis"]
    assert isinstance(redis, RedisCacheConfig)
    assert (redis.on_error, redis.fallback_provider, redis.max_pending_invalidations) == (
        "raise",
        "memory",
        10,
    )
    assert (redis.circuit_breaker.failure_threshold, redis.circuit_breaker.open_interval) == (7, 0.5)
    defaults = load_cache_config(SHIPPED, environ={}).providers["redis"]
    assert defaults == RedisCacheConfig()  # the file's defaults are the code's


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "AGENT_CACHE_REDIS_ON_ERROR",
            "ignore # a comment",
            r"on_error: expected one of .*'ignore # a comment'",
        ),
        ("AGENT_CACHE_REDIS_ON_ERROR", "raise\nfallback", r"on_error: expected one of"),
        (
            "AGENT_CACHE_REDIS_CIRCUIT_OPEN_INTERVAL",
            "1: 2",
            r"circuit_breaker\.open_interval: expected a number, got '1: 2'",
        ),
        (
            "AGENT_CACHE_REDIS_CIRCUIT_FAILURE_THRESHOLD",
            "[3]",
            r"failure_threshold: expected an integer, got '\[3\]'",
        ),
        (
            "AGENT_CACHE_REDIS_MAX_PENDING_INVALIDATIONS",
            "&anchor",
            r"max_pending_invalidations: expected an integer",
        ),
    ],
)
def test_yaml_significant_environment_values_are_taken_verbatim_and_refused(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(CacheConfigError, match=message) as raised:
        load_cache_config(SHIPPED, environ={variable: value})
    assert "cache.providers.redis." in str(raised.value)
