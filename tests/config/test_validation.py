"""Every validation error names the key path and the bad value, and never shows a secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from src.infrastructure.cache.config.cache_config import CacheConfig, RedisCacheConfig
from src.infrastructure.cache.config.loader import load_cache_config
from src.interfaces.llm.cache import CacheConfigError


def load(providers: dict[str, Any], default: str = "memory") -> CacheConfig:
    return CacheConfig.from_mapping({"default_provider": default, "providers": providers})


@pytest.mark.parametrize(
    ("providers", "path", "shown"),
    [
        ({"redis": {"port": "abc"}}, "cache.providers.redis.port", "'abc'"),
        ({"redis": {"port": 70000}}, "cache.providers.redis.port", "70000"),
        ({"redis": {"port": 1.5}}, "cache.providers.redis.port", "1.5"),
        ({"redis": {"port": True}}, "cache.providers.redis.port", "True"),
        ({"redis": {"port": 10**400}}, "cache.providers.redis.port", "must be between 1 and 65535"),
        ({"memory": {"default_ttl": 10**400}}, "cache.providers.memory.default_ttl", "expected a number"),
        ({"redis": {"db": -1}}, "cache.providers.redis.db", "-1"),
        ({"redis": {"ssl": "maybe"}}, "cache.providers.redis.ssl", "'maybe'"),
        ({"redis": {"ssl_cert_reqs": "sometimes"}}, "cache.providers.redis.ssl_cert_reqs", "'sometimes'"),
        ({"redis": {"host": 123}}, "cache.providers.redis.host", "123"),
        (
            {"redis": {"connection_pool": {"max_connections": 0}}},
            "cache.providers.redis.connection_pool.max_connections",
            "0",
        ),
        (
            {"redis": {"connection_pool": {"timeout": "soon"}}},
            "cache.providers.redis.connection_pool.timeout",
            "'soon'",
        ),
        ({"redis": {"connection_pool": 5}}, "cache.providers.redis.connection_pool", "int"),
        ({"memory": {"max_size": "many"}}, "cache.providers.memory.max_size", "'many'"),
        ({"memory": {"max_size": 0}}, "cache.providers.memory.max_size", "0"),
        ({"memory": {"default_ttl": -5}}, "cache.providers.memory.default_ttl", "-5"),
        ({"memory": {"default_ttl": "nan"}}, "cache.providers.memory.default_ttl", "'nan'"),
        ({"redis": {"default_ttl": 1e300}}, "cache.providers.redis.default_ttl", "1e+300"),
        ({"memory": {"default_ttl": "1e16"}}, "cache.providers.memory.default_ttl", "'1e16'"),
        ({"redis": {"max_value_bytes": 2**40}}, "cache.providers.redis.max_value_bytes", str(2**40)),
        ({"memory": {"enabled": "perhaps"}}, "cache.providers.memory.enabled", "'perhaps'"),
        ({"memory": ["not", "a", "map"]}, "cache.providers.memory", "list"),
    ],
)
def test_bad_value_names_key_path_and_value(providers: dict[str, Any], path: str, shown: str) -> None:
    with pytest.raises(CacheConfigError) as raised:
        load(providers)
    assert f"{path}:" in str(raised.value)
    assert shown in str(raised.value)


def test_unknown_key_is_refused_with_a_suggestion() -> None:
    with pytest.raises(
        CacheConfigError, match=r"cache\.providers\.memory\.max_sise: unknown.*did you mean 'max_size'"
    ):
        load({"memory": {"max_sise": 10}})


def test_unknown_nested_key_is_refused() -> None:
    with pytest.raises(CacheConfigError, match=r"cache\.providers\.redis\.connection_pool\.size: unknown"):
        load({"redis": {"connection_pool": {"size": 10}}})


def test_unknown_top_level_key_and_unknown_provider() -> None:
    with pytest.raises(CacheConfigError, match=r"cache\.providers_typo: unknown"):
        CacheConfig.from_mapping({"providers_typo": {}})
    with pytest.raises(
        CacheConfigError, match=r"cache\.providers\.memcached: unknown provider \(known: memory, redis\)"
    ):
        load({"memcached": {}})


def test_default_provider_must_be_registered_and_enabled() -> None:
    with pytest.raises(
        CacheConfigError,
        match=r"cache\.default_provider: 'redis' is disabled \(set cache\.providers\.redis\.enabled: true, "
        r"or choose another\); enabled providers: memory",
    ):
        load({"redis": {"enabled": False}}, default="redis")
    with pytest.raises(
        CacheConfigError, match=r"'nosuch' is not a provider; enabled providers: redis, memory"
    ):
        load({"redis": {"enabled": True}}, default="nosuch")
    with pytest.raises(CacheConfigError, match=r"enabled providers: \(none\)"):
        load({"memory": {"enabled": False}})


def test_secret_values_never_appear_in_errors() -> None:
    with pytest.raises(CacheConfigError) as raised:
        load({"redis": {"password": 987654321}})
    assert "987654321" not in str(raised.value)
    assert "cache.providers.redis.password" in str(raised.value)


@pytest.mark.parametrize(
    "section",
    [
        {"providers": {"redis": {"password:s3cr3t-pw": None}}},  # YAML's {password:s3cr3t-pw}
        {"providers": {"s3cr3t-pw here": {}}},
        {"password:s3cr3t-pw": None},
    ],
)
def test_an_unknown_key_that_is_not_a_name_is_not_shown(section: dict[str, Any]) -> None:
    """Without a space after the colon, ``{password:secret}`` is one key: its text may be a secret."""
    with pytest.raises(CacheConfigError, match=r"<key not shown: not a name.*: unknown") as raised:
        CacheConfig.from_mapping(section)
    assert "s3cr3t" not in str(raised.value)


def test_url_password_is_masked_in_errors_repr_and_display() -> None:
    with pytest.raises(CacheConfigError) as raised:
        load({"redis": {"url": 12345}})
    assert "12345" not in str(raised.value)
    config = load(
        {"redis": {"url": "redis://agent:s3cr3t-pw@cache.internal:6380/2", "password": "other-s3cr3t"}}
    )
    redis = config.providers["redis"]
    assert "s3cr3t" not in repr(redis)
    shown = str(config.display())
    assert "s3cr3t" not in shown
    assert "redis://agent:***@cache.internal:6380/2" in shown
    assert "'password': '***'" in shown


def test_empty_key_prefix_needs_owns_database() -> None:
    with pytest.raises(CacheConfigError, match=r"cache\.providers\.redis\.key_prefix: empty.*owns_database"):
        load({"redis": {"key_prefix": ""}})
    config = load({"redis": {"key_prefix": "", "owns_database": True}})
    assert config.providers["redis"].key_prefix == ""  # type: ignore[attr-defined]


def test_empty_optional_strings_mean_unset() -> None:
    redis = load({"redis": {"password": "", "url": "", "username": None}}).providers["redis"]
    assert isinstance(redis, RedisCacheConfig)
    assert (redis.password, redis.url, redis.username) == (None, None, None)


def test_missing_sections_take_the_defaults() -> None:
    config = CacheConfig.from_mapping(None)
    assert config.default_provider == "memory"
    assert list(config.enabled_providers) == ["memory"]
    assert config.providers["redis"] == RedisCacheConfig()


def test_missing_file_is_an_error_not_silent_defaults(tmp_path: Path) -> None:
    with pytest.raises(CacheConfigError, match="does not exist"):
        load_cache_config(tmp_path / "nope.yaml", environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cache: [unclosed", "not valid YAML"),
        ("- a list\n", "mapping at the top level"),
        ("cache: 5\n", "cache: expected a mapping"),
    ],
)
def test_malformed_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CacheConfigError, match=message) as raised:
        load_cache_config(path, environ={})
    assert str(path) in str(raised.value)


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("cache: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(CacheConfigError, match="not valid YAML"):
        load_cache_config(path, environ={})


def test_shipped_global_yaml_is_valid_and_memory_first(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).parents[2]
    monkeypatch.chdir(repo)
    config = load_cache_config(environ={})
    assert config.default_provider == "memory"
    assert list(config.enabled_providers) == ["memory"]
    raw = yaml.safe_load((repo / "configs/global.yaml").read_text())
    assert set(raw["cache"]["providers"]) == {"memory", "redis"}


def test_default_provider_switched_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parents[2])
    config = load_cache_config(
        environ={"AGENT_CACHE_DEFAULT_PROVIDER": "redis", "AGENT_CACHE_REDIS_ENABLED": "true"}
    )
    assert config.default_provider == "redis"


def test_config_file_chosen_by_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text("cache:\n  providers:\n    memory:\n      max_size: 7\n")
    monkeypatch.chdir(tmp_path)
    config = load_cache_config(environ={"AGENT_CACHE_CONFIG": str(path)})
    assert config.providers["memory"].max_size == 7  # type: ignore[attr-defined]


def test_packaged_defaults_are_the_shipped_global_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import resources

    packaged = resources.files("src.infrastructure.cache.config").joinpath("global.yaml").read_text()
    assert packaged == (Path(__file__).parents[2] / "configs/global.yaml").read_text()
    monkeypatch.chdir(tmp_path)  # no configs/ here
    assert load_cache_config(environ={}).default_provider == "memory"


def test_config_records_where_it_was_read_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_cache_config(environ={}).source.startswith("packaged defaults")
    explicit = tmp_path / "x.yaml"
    explicit.write_text("cache: {}\n")
    assert load_cache_config(environ={"AGENT_CACHE_CONFIG": "x.yaml"}).source == str(explicit)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "global.yaml").write_text("cache: {}\n")
    assert load_cache_config(environ={}).source == str(tmp_path / "configs" / "global.yaml")
