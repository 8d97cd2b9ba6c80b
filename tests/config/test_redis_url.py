"""``cache.providers.redis.url``: checked at load time so that redis-py reads exactly the server,
database and credentials it shows, and masked however its password is written."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from redis.connection import parse_url

from src.infrastructure.cache.config.cache_config import CacheConfig, RedisCacheConfig
from src.infrastructure.cache.config.loader import load_cache_config
from src.infrastructure.cache.config.sections import mask_url
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import CacheConfigError
from tests.config.planted import MUST_ENCODE, SPECIALS, leaked, planted
from tests.redis_servers import RedisServer

PATH = "cache.providers.redis.url"


def parsed(url: str | None) -> dict[str, Any]:
    """What redis-py reads from ``url``: the settings its clients would connect with."""
    assert url is not None
    settings: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
    return settings


def redis_config(**settings: Any) -> CacheConfig:
    return CacheConfig.from_mapping({"providers": {"redis": {"enabled": True, **settings}}})


@pytest.mark.parametrize("char", SPECIALS, ids=repr)
@pytest.mark.parametrize(
    "template",
    [
        "rediss://agent:{pw}@cache.internal:6380/0",
        "redis://:{pw}@cache.internal/2",
        "redis://{pw}@cache.internal",
        "unix://agent:{pw}@/run/redis.sock?db=1",
        "redis://cache.internal/0?password={pw}",
        "agent:{pw}@cache.internal:6379",
    ],
)
def test_mask_url_hides_every_piece_of_an_unencoded_password(template: str, char: str) -> None:
    password = planted(char)
    shown = mask_url(template.format(pw=password))
    assert "***" in shown
    if template.startswith("redis://{pw}") and char == ":":
        # No user name before it, the password's own ':' makes what precedes it the user name, for
        # every URL parser; the rest is still masked.
        password = password.partition(":")[2]
    assert leaked(shown, password) == []


def test_mask_url_keeps_what_is_not_secret() -> None:
    assert (
        mask_url("rediss://agent:p%23ss@cache.internal:6380/2") == "rediss://agent:***@cache.internal:6380/2"
    )
    assert mask_url("redis://:pw@h/0") == "redis://:***@h/0"
    assert mask_url("redis://h:6379/0?client_name=x") == "redis://h:6379/0?client_name=x"
    assert mask_url("unix:///run/redis.sock?db=1") == "unix:///run/redis.sock?db=1"


@pytest.mark.parametrize("char", MUST_ENCODE, ids=repr)
def test_an_unencoded_password_is_refused_naming_the_key_and_the_remedy(char: str) -> None:
    password = planted(char)
    with pytest.raises(CacheConfigError) as refused:
        redis_config(url=f"rediss://agent:{password}@cache.internal:6380/0")
    message = str(refused.value)
    assert message.startswith(f"{PATH}: ")
    assert "percent-encoded" in message
    assert "urllib.parse.quote(password, safe='')" in message
    assert leaked(message, password) == []


@pytest.mark.parametrize("char", SPECIALS, ids=repr)
def test_the_percent_encoded_password_is_what_redis_py_sends(char: str) -> None:
    password = planted(char)
    url = f"rediss://agent:{quote(password, safe='')}@cache.internal:6380/3"
    redis = redis_config(url=url).providers["redis"]
    assert isinstance(redis, RedisCacheConfig)
    settings = parsed(redis.url)
    assert (settings["password"], settings["host"], settings["port"], settings["db"]) == (
        password,
        "cache.internal",
        6380,
        3,
    )
    assert leaked(str(redis_config(url=url).display()), password) == []


@pytest.mark.parametrize("char", [":", "&", "="], ids=repr)
def test_characters_allowed_in_user_info_need_no_encoding_and_are_masked(char: str) -> None:
    password = planted(char)
    config = redis_config(url=f"redis://agent:{password}@cache.internal:6380/0")
    redis = config.providers["redis"]
    assert isinstance(redis, RedisCacheConfig)
    assert redis.url is not None
    assert parsed(redis.url)["password"] == password
    assert config.display()["providers"]["redis"]["url"] == "redis://agent:***@cache.internal:6380/0"


def test_the_readme_pattern_with_a_hash_in_the_variable_is_refused_without_showing_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "global.yaml"
    path.write_text(
        "cache:\n  providers:\n    redis:\n      enabled: true\n"
        '      url: "rediss://agent:${AGENT_CACHE_REDIS_PASSWORD}@host:6380/0"\n'
    )
    password = planted("#")
    with pytest.raises(CacheConfigError) as refused:
        load_cache_config(path, environ={"AGENT_CACHE_REDIS_PASSWORD": password})
    assert f"{PATH}: " in str(refused.value)
    assert str(path) in str(refused.value)
    assert leaked(str(refused.value), password) == []
    encoded = load_cache_config(path, environ={"AGENT_CACHE_REDIS_PASSWORD": quote(password, safe="")})
    assert parsed(encoded.providers["redis"].url)["password"] == password  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://cache.internal:6379/0", "must start with redis://, rediss:// or unix://"),
        ("cache.internal:6379", "must start with redis://, rediss:// or unix://"),
        ("REDIS://cache.internal:6379/0", "must start with redis://, rediss:// or unix://"),
        ("redis://[::1", r"not a valid URL \(Invalid IPv6 URL\)"),
        ("redis://cache.internal:notaport/0", r"not a valid URL \(Port could not be cast"),
        ("redis://cache.internal:70000/0", r"not a valid URL \(Port out of range"),
        ("redis://cache.internal:0/0", "port must be between 1 and 65535"),
        ("redis:///0", "names no host"),
        ("redis://cache.internal/zero", "the path must be the database number"),
        ("redis://cache.internal/0?db=x", "Invalid value for 'db'"),
        ("redis://cache.internal/0?sockettimeout=1", "query parameter 'sockettimeout' is not one redis-py"),
        ("redis://cache.internal/0?password=pw", "put the password in the URL's user info"),
        ("redis://cache.internal/0\n", "holds a space or a control character"),
        ("unix://", "needs the socket's path"),
    ],
)
def test_a_url_redis_py_would_misread_or_refuse_later_is_refused_now(url: str, message: str) -> None:
    with pytest.raises(CacheConfigError, match=message) as refused:
        redis_config(url=url)
    assert str(refused.value).startswith(f"{PATH}: ")


def test_good_urls_pass() -> None:
    for url in (
        "redis://cache.internal",
        "redis://cache.internal:6379",
        "rediss://user:p%40ss%23word@cache.internal:6380/15",
        "redis://[::1]:6379/0?socket_timeout=0.5&client_name=agent",
        "unix:///run/redis/redis.sock?db=2",
    ):
        assert redis_config(url=url).providers["redis"].url == url  # type: ignore[attr-defined]


def test_cluster_mode_needs_a_tcp_url_on_database_zero() -> None:
    with pytest.raises(CacheConfigError, match=r"url: mode 'cluster' needs a redis:// or rediss://"):
        redis_config(mode="cluster", url="unix:///run/redis.sock")
    with pytest.raises(CacheConfigError, match=r"url: names database 2; a cluster has only database 0"):
        redis_config(mode="cluster", url="redis://node:7000?db=2")


def test_a_config_built_in_code_is_checked_too() -> None:
    """The benchmark replaces the configured url with its --redis-url: that must not slip through."""
    password = planted("/")
    with pytest.raises(CacheConfigError, match=r"^url: everything between") as refused:
        dataclasses.replace(RedisCacheConfig(), url=f"redis://agent:{password}@h:6379/0")
    assert leaked(str(refused.value), password) == []


@pytest.mark.redis
def test_a_unix_socket_url_reaches_the_server(tmp_path: Path) -> None:
    socket = tmp_path / "redis.sock"
    with RedisServer(args=("--unixsocket", str(socket), "--unixsocketperm", "700")):
        config = redis_config(url=f"unix://{socket}?db=3", key_prefix="test:unix:").providers["redis"]
        assert isinstance(config, RedisCacheConfig)
        provider = RedisCacheProvider(config)
        try:
            provider.set("k", [1, 2])
            assert provider.get("k") == [1, 2]
            assert provider.get_stats()["db"] == 3
        finally:
            provider.clear()
            provider.close()
