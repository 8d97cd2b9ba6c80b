"""Named caches from YAML (issue 12): each resolves by name, with its own prefix, TTL and policy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from src.interfaces.llm.cache import ICacheProvider
from src.services.container import create_container
from tests.conftest import unique_prefix
from tests.redis_servers import RedisEndpoint

pytestmark = pytest.mark.redis


def _three_caches(tmp_path: Path, endpoint: RedisEndpoint) -> tuple[Path, dict[str, str]]:
    prefixes = {"llm_responses": unique_prefix(), "tool_results": unique_prefix()}
    path = tmp_path / "global.yaml"
    path.write_text(
        f"""
cache:
  default_provider: llm_responses
  providers:
    llm_responses:
      type: redis
      url: "{endpoint.url}"
      key_prefix: "{prefixes["llm_responses"]}"
      default_ttl: 86400
    tool_results:
      type: redis
      url: "{endpoint.url}"
      key_prefix: "{prefixes["tool_results"]}"
      default_ttl: 1
      on_error: ignore
    sessions:
      type: memory
      max_size: 100
      default_ttl: 1800
"""
    )
    return path, prefixes


def test_three_named_caches_resolve_by_name_with_their_own_settings(
    tmp_path: Path, redis_endpoint: RedisEndpoint
) -> None:
    path, prefixes = _three_caches(tmp_path, redis_endpoint)
    container = create_container(path)
    raw = redis_endpoint.client()
    try:
        resolver = container.resolver()
        assert resolver.names(ICacheProvider)[:3] == ["llm_responses", "tool_results", "sessions"]
        llm = resolver.get_named(ICacheProvider, "llm_responses")
        tools = resolver.get_named(ICacheProvider, "tool_results")
        sessions = resolver.get_named(ICacheProvider, "sessions")
        assert resolver.get(ICacheProvider) is llm
        assert len({id(llm), id(tools), id(sessions)}) == 3

        for cache in (llm, tools, sessions):
            cache.set("same-key", cache.name)
        assert llm.get("same-key") == "redis"
        assert sessions.get("same-key") == "memory"
        assert raw.exists(f"{prefixes['llm_responses']}same-key") == 1
        assert raw.exists(f"{prefixes['tool_results']}same-key") == 1
        assert 86_000_000 < raw.pttl(f"{prefixes['llm_responses']}same-key") <= 86_400_000
        assert raw.pttl(f"{prefixes['tool_results']}same-key") <= 1000

        tools.clear()  # its own namespace only
        assert raw.exists(f"{prefixes['tool_results']}same-key") == 0
        assert llm.get("same-key") == "redis"
        stats: dict[str, Any] = tools.get_stats()
        assert stats["key_prefix"] == prefixes["tool_results"]
        assert stats["resilience"]["on_error"] == "ignore"
        assert llm.get_stats()["resilience"]["on_error"] == "fallback"
        time.sleep(1.1)
        assert tools.get("same-key", "expired") == "expired"
    finally:
        for prefix in prefixes.values():
            for name in raw.scan_iter(match=f"{prefix}*"):
                raw.delete(name)
        raw.close()
        container.shutdown_resources()


def test_a_cache_is_built_only_when_asked_for_and_closed_with_the_container(
    tmp_path: Path, redis_endpoint: RedisEndpoint
) -> None:
    path, _ = _three_caches(tmp_path, redis_endpoint)
    container = create_container(path)
    resolver = container.resolver()
    resolver.get_named(ICacheProvider, "sessions").set("k", 1)
    bindings: Any = container.cache
    assert bindings.caches().built() == ["sessions"]
    container.shutdown_resources()
    assert container.resolver().get_named(ICacheProvider, "sessions").get("k") is None  # a new one


def test_two_redis_caches_on_one_server_share_one_pool(tmp_path: Path, redis_endpoint: RedisEndpoint) -> None:
    """Named caches with the same connection settings share one pool: after concurrent traffic from
    both, the server sees one connection per concurrent caller at most, not one set per cache."""
    path, prefixes = _three_caches(tmp_path, redis_endpoint)
    name = f"agent-cache-test-{prefixes['llm_responses'][5:13]}"
    path.write_text(
        path.read_text().replace(
            f'url: "{redis_endpoint.url}"', f'url: "{redis_endpoint.url}?client_name={name}"'
        )
    )
    container = create_container(path)
    raw = redis_endpoint.client()
    try:
        resolver = container.resolver()
        llm = resolver.get_named(ICacheProvider, "llm_responses")
        tools = resolver.get_named(ICacheProvider, "tool_results")
        for round_ in range(20):  # one after the other: one connection serves both caches
            llm.set(f"k{round_}", round_)
            tools.set(f"k{round_}", round_)
        ours = [client for client in raw.client_list() if client.get("name") == name]
        assert len(ours) == 1
        assert llm.get_stats()["pool"] == tools.get_stats()["pool"]
        tools_stats: dict[str, Any] = tools.get_stats()
        assert tools_stats["connections_shared_by"] == 2
    finally:
        for prefix in prefixes.values():
            for key in raw.scan_iter(match=f"{prefix}*"):
                raw.delete(key)
        raw.close()
        container.shutdown_resources()
