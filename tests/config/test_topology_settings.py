"""mode, startup_nodes, sentinels and friends: what each mode requires, refused clearly when missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import CacheConfig, RedisCacheConfig, parse_address
from src.infrastructure.cache.config.loader import load_cache_config
from src.infrastructure.cache.providers.redis.client_factory import server_label
from src.interfaces.llm.cache import CacheConfigError

PATH = "cache.providers.redis"


def redis(**settings: Any) -> RedisCacheConfig:
    config = CacheConfig.from_mapping({"providers": {"redis": settings}}).providers["redis"]
    assert isinstance(config, RedisCacheConfig)
    return config


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"mode": "cluster"}, "startup_nodes: mode 'cluster' needs startup_nodes or a url"),
        ({"mode": "cluster", "startup_nodes": "h:7000", "db": 2}, "db: must be 0 with mode 'cluster'"),
        ({"mode": "cluster", "url": "redis://h:7000/3"}, "url: names database 3"),
        ({"mode": "sentinel", "service_name": "m"}, "sentinels: mode 'sentinel' needs"),
        ({"mode": "sentinel", "sentinels": ["h:26379"]}, "service_name: mode 'sentinel' needs"),
        (
            {"mode": "sentinel", "sentinels": "h:26379", "service_name": "m", "url": "redis://h"},
            "url: not used with mode 'sentinel'",
        ),
        (
            {"mode": "cluster", "startup_nodes": ["h:7000", "nohost"]},
            "startup_nodes[1]: expected 'host:port'",
        ),
        ({"sentinels": ["h:99999"]}, "sentinels[0]: expected 'host:port', got 'h:99999'"),
        ({"hash_tag": True, "key_prefix": "a{b}:"}, "hash_tag: needs a non-empty key_prefix without"),
    ],
)
def test_each_mode_names_the_setting_it_misses(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(CacheConfigError) as refused:
        redis(**settings)
    assert str(refused.value).startswith(f"{PATH}.{message}")  # the path names the setting itself


def test_mode_is_one_of_three() -> None:
    with pytest.raises(
        CacheConfigError, match=rf"{PATH}\.mode: expected one of standalone, cluster, sentinel"
    ):
        redis(mode="replicated")


def test_lists_come_as_yaml_lists_or_comma_separated_strings() -> None:
    assert redis(mode="cluster", startup_nodes=["a:1", "b:2"]).startup_nodes == ("a:1", "b:2")
    assert redis(mode="cluster", startup_nodes=" a:1, b:2 ,").startup_nodes == ("a:1", "b:2")
    assert redis(sentinels="").sentinels == ()
    assert parse_address("[::1]:7000") == ("::1", 7000)


def test_sentinel_password_is_a_secret() -> None:
    config = redis(mode="sentinel", sentinels="h:26379", service_name="m", sentinel_password="pw-42")
    assert "pw-42" not in repr(config)
    shown = CacheConfig(default_provider="memory", providers={"redis": config}).display()
    assert shown["providers"]["redis"]["sentinel_password"] == "***"
    with pytest.raises(CacheConfigError) as refused:
        redis(sentinel_password=["pw-43"])
    assert "pw-43" not in str(refused.value)


def test_hash_tag_wraps_the_prefix_in_braces() -> None:
    assert redis(hash_tag=True).namespace_prefix == "{agent:cache}:"
    assert redis(hash_tag=True, key_prefix="myapp").namespace_prefix == "{myapp}"
    assert redis().namespace_prefix == "agent:cache:"


def test_server_label_says_where_each_mode_connects() -> None:
    assert server_label(redis(mode="cluster", startup_nodes="a:1,b:2")) == "cluster via a:1,b:2"
    assert server_label(redis(mode="cluster", url="redis://u:pw@a:1/0")) == "cluster via redis://u:***@a:1/0"
    label = server_label(redis(mode="sentinel", sentinels="s:1", service_name="m", sentinel_password="x"))
    assert label == "sentinel service 'm' via s:1"


def test_the_shipped_yaml_switches_mode_by_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parents[2])
    assert load_cache_config(environ={}).providers["redis"].mode == "standalone"  # type: ignore[attr-defined]
    cluster = load_cache_config(
        environ={
            "AGENT_CACHE_REDIS_MODE": "cluster",
            "AGENT_CACHE_REDIS_STARTUP_NODES": "10.0.0.1:7000,10.0.0.2:7000",
        }
    ).providers["redis"]
    assert isinstance(cluster, RedisCacheConfig)
    assert (cluster.mode, cluster.startup_nodes) == ("cluster", ("10.0.0.1:7000", "10.0.0.2:7000"))
    sentinel = load_cache_config(
        environ={
            "AGENT_CACHE_REDIS_MODE": "sentinel",
            "AGENT_CACHE_REDIS_SENTINELS": "10.0.0.1:26379",
            "AGENT_CACHE_REDIS_SERVICE_NAME": "mymaster",
            "AGENT_CACHE_REDIS_SENTINEL_PASSWORD": "s3cret",
        }
    ).providers["redis"]
    assert isinstance(sentinel, RedisCacheConfig)
    assert (sentinel.sentinels, sentinel.service_name, sentinel.sentinel_password) == (
        ("10.0.0.1:26379",),
        "mymaster",
        "s3cret",
    )
    with pytest.raises(CacheConfigError, match=rf"{PATH}\.startup_nodes: mode 'cluster' needs"):
        load_cache_config(environ={"AGENT_CACHE_REDIS_MODE": "cluster"})
