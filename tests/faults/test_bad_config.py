"""Hostile or mistyped resilience settings fail at start-up naming the key path; the shipped
global.yaml exposes each of them as an environment variable, used verbatim whatever it contains."""

from __future__ import annotations

import time
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


# ------------------------------------------------------ inputs that used to escape as raw exceptions


def load_text(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> CacheConfig:
    path = tmp_path / "global.yaml"
    path.write_text(text, encoding="utf-8")
    return load_cache_config(path, environ=environ or {})


def test_an_invalid_date_in_another_section_is_not_ours_to_refuse(tmp_path: Path) -> None:
    """The safe loader built a date from 2001-13-45 and raised ValueError; no cache setting is a
    date, so dates stay text and only the settings that are ours are judged."""
    config = load_text(tmp_path, "framework: {released: 2001-13-45}\ncache: {}\n")
    assert config.default_provider == "memory"
    with pytest.raises(CacheConfigError, match=r"cache\.providers\.memory\.max_size: expected an integer"):
        load_text(tmp_path, "cache: {providers: {memory: {max_size: 2001-13-45}}}\n")
    prefix = load_text(tmp_path, "cache: {providers: {redis: {key_prefix: 2024-01-02}}}\n")
    assert prefix.providers["redis"].key_prefix == "2024-01-02"  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["[memory]", "{memory: 1}", "1", "null"])
def test_default_provider_that_is_not_a_name(tmp_path: Path, value: str) -> None:
    with pytest.raises(CacheConfigError, match=r"cache\.default_provider: expected a provider name"):
        load_text(tmp_path, f"cache: {{default_provider: {value}}}\n")


def test_an_unclosed_ipv6_url(tmp_path: Path) -> None:
    with pytest.raises(CacheConfigError, match=r"cache\.providers\.redis\.url: not a valid URL"):
        load_text(tmp_path, "cache: {providers: {redis: {url: 'redis://[::1'}}}\n")


@pytest.mark.parametrize(
    "text",
    [
        "cache: {providers: " + "[" * 3000 + "]" * 3000 + "}\n",
        "cache:\n" + "".join("  " * level + f"  k{level}:\n" for level in range(600)),
        "cache:\n  providers:\n    redis:\n      startup_nodes: " + "[" * 80 + "]" * 80 + "\n",
    ],
    ids=["flow sequences", "block mappings", "just past the limit"],
)
def test_deeply_nested_yaml_is_refused_naming_the_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(
        CacheConfigError, match=r"global\.yaml: not valid YAML at line \d+, column \d+: nested"
    ):
        load_text(tmp_path, text)


def alias_bomb(levels: int) -> str:
    """A few hundred bytes whose aliases expand eightfold per level (a "billion laughs")."""
    anchors = ["x-anchors:", "  - &l0 [a, a, a, a, a, a, a, a]"]
    anchors += [f"  - &l{n} [{', '.join([f'*l{n - 1}'] * 8)}]" for n in range(1, levels + 1)]
    return "\n".join(anchors) + f"\ncache:\n  providers:\n    redis:\n      startup_nodes: *l{levels}\n"


def test_an_alias_bomb_is_refused_quickly_naming_the_file(tmp_path: Path) -> None:
    text = alias_bomb(8)  # 8**9 nodes once expanded: minutes of work, had it been walked
    assert len(text) < 600
    started = time.perf_counter()
    with pytest.raises(CacheConfigError, match=r"global\.yaml: not valid YAML at line \d+, .*aliases"):
        load_text(tmp_path, text)
    assert time.perf_counter() - started < 0.5


def test_a_recursive_alias_is_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(
        CacheConfigError, match=r"global\.yaml: not valid YAML at line 1, column \d+: .*alias"
    ):
        load_text(tmp_path, "cache: &c {providers: *c}\n")


def test_anchors_and_aliases_within_the_budget_still_work(tmp_path: Path) -> None:
    text = (
        "x-defaults: &timeouts {socket_timeout: 0.5, socket_connect_timeout: 0.5}\n"
        "cache:\n  providers:\n    redis:\n      <<: *timeouts\n      retries: 2\n"
    )
    redis = load_text(tmp_path, text).providers["redis"]
    assert isinstance(redis, RedisCacheConfig)
    assert (redis.socket_timeout, redis.socket_connect_timeout, redis.retries) == (0.5, 0.5, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "cache:\n  providers:\n    redis: {enabled: true}\n    memory: {}\n    redis: {}\n",
            r"at line 5, column 5: key redis is written twice in one mapping \(first at line 3\): keep one",
        ),
        (
            "cache:\n  providers:\n    redis:\n      near_cache: {enabled: true}\n"
            "      near_cache: {max_size: 10}\n",
            r"at line 5, column 7: key near_cache is written twice .*\(first at line 4\)",
        ),
        (
            "cache: {default_provider: memory, default_provider: redis}\n",
            r"at line 1, column 35: key default_provider is written twice",
        ),
    ],
    ids=["a cache", "a section", "flow mapping"],
)
def test_a_key_written_twice_is_refused_not_silently_replaced(
    tmp_path: Path, text: str, message: str
) -> None:
    """PyYAML keeps the last of two equal keys without a word: the first cache or section is lost."""
    with pytest.raises(CacheConfigError, match=r"global\.yaml: not valid YAML " + message):
        load_text(tmp_path, text)


def test_a_duplicate_key_that_is_not_a_name_is_not_shown(tmp_path: Path) -> None:
    text = "cache:\n  providers:\n    redis:\n      password:s3cret-pw: 1\n      password:s3cret-pw: 1\n"
    with pytest.raises(
        CacheConfigError, match=r"a key \(not shown: not a name\) is written twice"
    ) as refused:
        load_text(tmp_path, text)
    assert "s3cret" not in str(refused.value)


def test_merge_keys_may_repeat_what_they_merge(tmp_path: Path) -> None:
    text = (
        "x-defaults: &redis {socket_timeout: 0.5, retries: 1}\n"
        "cache:\n  providers:\n    redis:\n      <<: *redis\n      retries: 2\n"
    )
    redis = load_text(tmp_path, text).providers["redis"]
    assert isinstance(redis, RedisCacheConfig)
    assert (redis.socket_timeout, redis.retries) == (0.5, 2)


def test_a_key_prefix_that_is_not_utf8_is_refused_at_load(tmp_path: Path) -> None:
    """os.environ holds undecodable bytes as surrogates; the provider's .encode() raised on them."""
    undecodable = b"app:\xff\xfe:".decode("utf-8", "surrogateescape")
    environ = {"AGENT_CACHE_REDIS_ENABLED": "true", "AGENT_CACHE_REDIS_KEY_PREFIX": undecodable}
    with pytest.raises(CacheConfigError, match=r"cache\.providers\.redis\.key_prefix: not valid UTF-8"):
        load_cache_config(SHIPPED, environ=environ)


def test_a_password_that_is_not_utf8_is_refused_without_showing_it(tmp_path: Path) -> None:
    undecodable = b"s3cr3t-\xff-pw".decode("utf-8", "surrogateescape")
    with pytest.raises(
        CacheConfigError, match=r"cache\.providers\.redis\.password: not valid UTF-8"
    ) as refused:
        load_cache_config(SHIPPED, environ={"AGENT_CACHE_REDIS_PASSWORD": undecodable})
    assert "s3cr3t" not in str(refused.value)


@pytest.mark.parametrize("url", ["cache.internal:6379", "http://cache.internal:6379/0", "//cache.internal"])
def test_a_url_without_a_redis_scheme_is_refused_at_load(url: str) -> None:
    with pytest.raises(CacheConfigError, match=r"cache\.providers\.redis\.url: must start with redis://"):
        load_cache_config(
            SHIPPED, environ={"AGENT_CACHE_REDIS_ENABLED": "true", "AGENT_CACHE_REDIS_URL": url}
        )
