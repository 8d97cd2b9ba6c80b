"""Named caches (issue 12): any number of ``cache.providers.<name>`` entries, each with a ``type``
and its own settings; the rules between them; what the wiring reads from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import (
    CacheConfig,
    CircuitBreakerConfig,
    FailurePolicyConfig,
    MemoryCacheConfig,
    RedisCacheConfig,
    RemoteCacheConfig,
)
from src.infrastructure.cache.config.loader import load_cache_config
from src.interfaces.llm.cache import CacheConfigError

LLM = {"type": "redis", "enabled": True, "key_prefix": "agent:llm:", "default_ttl": 86400}
TOOLS = {"type": "redis", "enabled": True, "key_prefix": "agent:tools:", "on_error": "ignore"}
SESSIONS = {"type": "memory", "max_size": 500}


def caches(providers: dict[str, Any], default: str = "memory") -> CacheConfig:
    return CacheConfig.from_mapping({"default_provider": default, "providers": providers})


def refusal(providers: dict[str, Any], default: str = "memory") -> str:
    with pytest.raises(CacheConfigError) as refused:
        caches(providers, default)
    return str(refused.value)


def test_any_number_of_caches_each_with_its_type_and_settings_in_file_order() -> None:
    config = caches({"llm_responses": LLM, "tool_results": TOOLS, "sessions": SESSIONS}, "llm_responses")
    assert list(config.providers) == ["llm_responses", "tool_results", "sessions", "memory", "redis"]
    assert [config.type_of(name) for name in config.providers] == [
        "redis",
        "redis",
        "memory",
        "memory",
        "redis",
    ]
    llm, tools, sessions = (config.providers[name] for name in ("llm_responses", "tool_results", "sessions"))
    assert isinstance(llm, RedisCacheConfig)
    assert isinstance(tools, RedisCacheConfig)
    assert (llm.key_prefix, llm.default_ttl, llm.on_error) == ("agent:llm:", 86400, "fallback")
    assert (tools.key_prefix, tools.default_ttl, tools.on_error) == ("agent:tools:", 3600, "ignore")
    assert sessions == MemoryCacheConfig(max_size=500)
    assert config.default_provider == "llm_responses"
    assert list(config.enabled_providers) == ["llm_responses", "tool_results", "sessions", "memory"]
    assert config.display()["providers"]["tool_results"]["type"] == "redis"


def test_without_type_the_name_is_the_type_so_todays_entries_keep_working() -> None:
    config = caches({"redis": {"enabled": True}, "memory": {"max_size": 5}})
    assert (config.type_of("redis"), config.type_of("memory")) == ("redis", "memory")
    assert config.providers["memory"] == MemoryCacheConfig(max_size=5)
    renamed = caches({"redis": {"type": "memory"}})  # a name may also be given another type
    assert renamed.type_of("redis") == "memory"


def test_a_cache_named_after_no_type_and_without_type_suggests_the_type() -> None:
    message = refusal({"redsi": {"enabled": True}})
    assert message.startswith("cache.providers.redsi: unknown provider (known: memory, redis); ")
    assert "did you mean 'redis'?" in message
    assert "type: memory or type: redis" in message


def test_a_misspelt_type_is_refused_with_a_suggestion() -> None:
    message = refusal({"llm": {"type": "rediss"}})
    assert (
        message
        == "cache.providers.llm.type: expected one of memory, redis, got 'rediss'; did you mean 'redis'?"
    )
    assert caches({"llm": {"type": " Redis "}}).type_of("llm") == "redis"


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"port": "abc"}, "cache.providers.llm_responses.port: expected an integer"),
        ({"key_prefix": ""}, "cache.providers.llm_responses.key_prefix: empty"),
        ({"circuit_breaker": {"failure_treshold": 2}}, "cache.providers.llm_responses.circuit_breaker."),
        ({"max_size": 10}, "cache.providers.llm_responses.max_size: unknown setting"),
    ],
)
def test_errors_name_the_cache(settings: dict[str, Any], path: str) -> None:
    assert refusal({"llm_responses": {**LLM, **settings}}).startswith(path)


def test_a_misspelt_setting_in_a_named_cache_suggests_type_too() -> None:
    assert (
        refusal({"llm": {"tpye": "redis"}})
        == "cache.providers.llm.tpye: unknown setting; did you mean 'type'?"
    )
    assert "did you mean 'type'?" in refusal({"redis": {"tpye": "memory"}})


def test_default_provider_may_name_any_enabled_cache_and_suggests_one() -> None:
    assert caches({"sessions": SESSIONS}, "sessions").default_provider == "sessions"
    message = refusal({"sessions": SESSIONS}, "sesions")
    assert "cache.default_provider: 'sesions' is not a provider; did you mean 'sessions'?" in message
    disabled = refusal({"llm": {**LLM, "enabled": False}}, "llm")
    assert "'llm' is disabled (set cache.providers.llm.enabled: true, or choose another)" in disabled


def test_fallback_provider_names_any_memory_cache() -> None:
    config = caches({"llm": {**LLM, "fallback_provider": "sessions"}, "sessions": SESSIONS})
    llm = config.providers["llm"]
    assert isinstance(llm, RedisCacheConfig)
    assert llm.fallback_provider == "sessions"


@pytest.mark.parametrize(
    ("fallback", "why"),
    [
        ("tools", "it is a redis cache, and a fallback must be a memory cache"),
        ("sesions", "no cache has that name; did you mean 'sessions'?"),
        ("llm", "it is a redis cache"),
    ],
)
def test_a_fallback_that_is_not_a_memory_cache_is_refused(fallback: str, why: str) -> None:
    message = refusal({"llm": {**LLM, "fallback_provider": fallback}, "tools": TOOLS, "sessions": SESSIONS})
    assert message.startswith(
        f"cache.providers.llm.fallback_provider: {fallback!r} cannot serve as the fallback"
    )
    assert why in message
    assert message.endswith("memory caches: sessions, memory")


def test_failure_policy_is_the_provider_neutral_view_of_the_flat_keys() -> None:
    llm = caches({"llm": {**LLM, "on_error": "raise", "circuit_breaker": {"open_interval": 2}}}).providers[
        "llm"
    ]
    assert isinstance(llm, RemoteCacheConfig)
    assert llm.remote
    assert not MemoryCacheConfig.remote
    assert llm.failure_policy == FailurePolicyConfig(
        on_error="raise",
        fallback_provider="memory",
        circuit_breaker=CircuitBreakerConfig(failure_threshold=3, open_interval=2),
        max_pending_invalidations=100_000,
    )


# ------------------------------------------------------------------ namespaces on one database


def conflict(first: dict[str, Any], second: dict[str, Any]) -> str | None:
    """The refusal of two enabled Redis caches ``a`` and ``b``, or None if they may coexist."""
    try:
        caches(
            {
                "a": {"type": "redis", "enabled": True, **first},
                "b": {"type": "redis", "enabled": True, **second},
            }
        )
    except CacheConfigError as refused:
        return str(refused)
    return None


def test_two_caches_with_one_prefix_on_one_database_are_refused_naming_both() -> None:
    message = conflict({"key_prefix": "app:"}, {"key_prefix": "app:"})
    assert message == (
        "cache.providers.b.key_prefix: the namespace 'app:' is the same as 'app:' of cache 'a', on the same "
        "server and database 0: each would read, overwrite and clear() the other's keys; give each cache "
        "its own key_prefix, none the beginning of another"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"key_prefix": "app:"}, {"key_prefix": "app:llm:"}),  # clear() of app: sweeps app:llm:*
        ({"key_prefix": "app:"}, {"key_prefix": "app:", "url": "redis://LOCALHOST:6379/0"}),
        ({"key_prefix": "app:", "db": 2}, {"key_prefix": "app:", "url": "redis://localhost/2"}),
        ({"key_prefix": "", "owns_database": True}, {"key_prefix": "x:"}),
        (
            {"key_prefix": "app:", "mode": "cluster", "startup_nodes": "n1:7000,n2:7000"},
            {"key_prefix": "app:", "mode": "cluster", "startup_nodes": "n2:7000,n3:7000"},
        ),
        (
            {"key_prefix": "app:", "mode": "sentinel", "sentinels": "s1:26379", "service_name": "m"},
            {"key_prefix": "app:", "mode": "sentinel", "sentinels": "s2:26379,s1:26379", "service_name": "m"},
        ),
        (
            {"key_prefix": "app:", "url": "unix:///run/redis.sock"},
            {"key_prefix": "app:", "url": "unix:///run/redis.sock"},
        ),
    ],
    ids=["nested", "url-and-host", "url-db", "owns-database", "cluster", "sentinel", "unix"],
)
def test_overlapping_namespaces_on_one_database_are_refused(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    assert conflict(first, second) is not None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"key_prefix": "app:llm:"}, {"key_prefix": "app:tools:"}),
        ({"key_prefix": "app:"}, {"key_prefix": "app:", "db": 1}),
        ({"key_prefix": "app:"}, {"key_prefix": "app:", "port": 6380}),
        ({"key_prefix": "app:"}, {"key_prefix": "app:", "host": "other"}),
        ({"key_prefix": "app:"}, {"key_prefix": "app:", "enabled": False}),
        ({"key_prefix": "app:", "hash_tag": True}, {"key_prefix": "app:"}),  # {app}: is not app:
        (
            {"key_prefix": "app:", "mode": "sentinel", "sentinels": "s1:26379", "service_name": "m1"},
            {"key_prefix": "app:", "mode": "sentinel", "sentinels": "s1:26379", "service_name": "m2"},
        ),
    ],
    ids=["prefixes", "db", "port", "host", "disabled", "hash-tag", "sentinel-services"],
)
def test_separate_namespaces_or_databases_may_coexist(first: dict[str, Any], second: dict[str, Any]) -> None:
    assert conflict(first, second) is None


# ------------------------------------------------------------------ what the wiring reads


def test_connection_key_decides_which_caches_can_share_a_pool() -> None:
    config = caches(
        {
            "llm": {**LLM, "password": "pw-1-do-not-leak"},
            "tools": {**TOOLS, "password": "pw-1-do-not-leak", "default_ttl": 60, "compute": {"beta": 1}},
            "other_user": {**TOOLS, "key_prefix": "x:", "password": "pw-2-do-not-leak"},
            "other_pool": {**TOOLS, "key_prefix": "y:", "connection_pool": {"max_connections": 5}},
        }
    )
    redis = {name: entry for name, entry in config.providers.items() if isinstance(entry, RedisCacheConfig)}
    keys = {name: entry.connection_key() for name, entry in redis.items()}
    assert keys["llm"] == keys["tools"]  # prefix, TTL, policy and compute are per cache
    assert keys["llm"] != keys["other_user"]
    assert keys["tools"] != keys["other_pool"]
    assert hash(keys["llm"]) == hash(keys["tools"])
    assert "pw-1" not in repr(keys["llm"])
    assert dict(keys["llm"])["password"] != dict(keys["other_user"])["password"]


def test_named_caches_from_a_file_with_environment_variables(tmp_path: Path) -> None:
    path = tmp_path / "global.yaml"
    path.write_text(
        "cache:\n"
        "  default_provider: llm_responses\n"
        "  providers:\n"
        "    llm_responses:\n"
        "      type: redis\n"
        '      enabled: "${LLM_CACHE_ENABLED:false}"\n'
        '      key_prefix: "${LLM_CACHE_PREFIX:agent:llm:}"\n'
    )
    config = load_cache_config(path, environ={"LLM_CACHE_ENABLED": "true"})
    llm = config.providers["llm_responses"]
    assert isinstance(llm, RedisCacheConfig)
    assert (llm.enabled, llm.key_prefix) == (True, "agent:llm:")
    with pytest.raises(CacheConfigError) as refused:
        load_cache_config(path, environ={"LLM_CACHE_ENABLED": "true", "LLM_CACHE_PREFIX": ""})
    assert str(refused.value).startswith(
        "cache.providers.llm_responses.key_prefix: empty, so clear() would delete every key"
    )
    assert "(from environment variable LLM_CACHE_PREFIX)" in str(refused.value)


def test_the_shipped_multi_cache_example_is_valid_once_uncommented(tmp_path: Path) -> None:
    shipped = (Path(__file__).resolve().parents[2] / "configs" / "global.yaml").read_text()
    head, marker, example = shipped.partition("    # llm_responses:")
    assert marker, "the example of named caches is missing from configs/global.yaml"
    uncommented = "\n".join(
        line.replace("    # ", "    ", 1).rstrip("#") for line in (marker + example).splitlines()
    )
    path = tmp_path / "global.yaml"
    path.write_text(head + uncommented + "\n")
    config = load_cache_config(path, environ={"AGENT_CACHE_DEFAULT_PROVIDER": "llm_responses"})
    assert list(config.enabled_providers) == ["memory", "llm_responses", "tool_results", "sessions"]
    assert {name: config.type_of(name) for name in config.providers} == {
        "memory": "memory",
        "redis": "redis",
        "llm_responses": "redis",
        "tool_results": "redis",
        "sessions": "redis",
        "llm_fallback": "memory",
    }
    llm = config.providers["llm_responses"]
    assert isinstance(llm, RedisCacheConfig)
    assert (llm.fallback_provider, llm.compute.stale_if_error) == ("llm_fallback", True)
    connection_keys = {
        entry.connection_key()
        for entry in config.enabled_providers.values()
        if isinstance(entry, RedisCacheConfig)
    }
    assert len(connection_keys) == 1  # three caches, one server: they may share one pool


def test_a_cache_declared_under_its_own_name_is_enabled_unless_it_says_otherwise() -> None:
    config = CacheConfig.from_mapping(
        {
            "providers": {
                "llm_responses": {"type": "redis", "key_prefix": "llm:"},
                "tools": {"type": "redis", "key_prefix": "tools:", "enabled": False},
                "redis": {"key_prefix": "legacy:"},
            }
        }
    )
    assert config.providers["llm_responses"].enabled is True
    assert config.providers["tools"].enabled is False
    assert config.providers["redis"].enabled is False  # the implicit entry keeps its old default
