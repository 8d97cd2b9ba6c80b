"""The Redis provider against a live server: sharing across processes, foreign data, stats, wiring."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from src.infrastructure.cache.config.cache_config import ConnectionPoolConfig, RedisCacheConfig
from src.infrastructure.cache.config.sections import mask_url
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import ICacheProvider
from src.services.container import create_container
from tests.conftest import unique_prefix
from tests.redis_servers import RedisEndpoint

pytestmark = pytest.mark.redis

MakeRedis = Callable[..., RedisCacheProvider]
REPO_ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import os, sys
    from src.infrastructure.cache.config.cache_config import RedisCacheConfig
    from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider

    provider = RedisCacheProvider(
        RedisCacheConfig(enabled=True, url=os.environ["AGENT_CACHE_TEST_URL"], key_prefix=sys.argv[1])
    )
    provider.set("from-child", {"parent wrote": provider.get("from-parent")}, ttl=30)
    provider.close()
    """
)


def test_a_value_written_in_one_process_is_read_in_another(redis_provider: RedisCacheProvider) -> None:
    redis_provider.set("from-parent", [1, "two", {"three": 3.0}])
    assert redis_provider.config.url is not None
    subprocess.run(
        [sys.executable, "-c", CHILD, redis_provider.config.key_prefix],
        env={**os.environ, "AGENT_CACHE_TEST_URL": redis_provider.config.url},
        cwd=REPO_ROOT,
        check=True,
        timeout=60,
    )
    assert redis_provider.get("from-child") == {"parent wrote": [1, "two", {"three": 3.0}]}


def test_values_survive_close_and_reopen(make_redis_provider: MakeRedis) -> None:
    first = make_redis_provider()
    first.set("kept", {"v": 1})
    asyncio.run(first.set_async("kept-async", 2))
    first.close()
    second = make_redis_provider(key_prefix=first.config.key_prefix)
    assert second.get_many(["kept", "kept-async"]) == {"kept": {"v": 1}, "kept-async": 2}
    assert first.get("kept") == {"v": 1}  # a closed provider reconnects on its next call


@pytest.mark.parametrize(
    "payload",
    [b"plain text from another program", b"\x02\x91\x01", b"\x01\xc1", b"\x01\x92\x01", b""],
    ids=["not-msgpack", "other-version", "corrupt", "truncated", "empty"],
)
def test_foreign_payload_under_the_prefix_is_a_counted_logged_miss(
    redis_provider: RedisCacheProvider,
    redis_endpoint: RedisEndpoint,
    caplog: pytest.LogCaptureFixture,
    payload: bytes,
) -> None:
    raw = redis_endpoint.client()
    raw.set(f"{redis_provider.config.key_prefix}foreign", payload)
    raw.close()
    redis_provider.set("ours", 1)
    missing = object()
    with caplog.at_level(logging.WARNING):
        assert redis_provider.get("foreign", missing) is missing
        assert redis_provider.get_many(["foreign", "ours"]) == {"ours": 1}
        assert asyncio.run(redis_provider.get_async("foreign")) is None
    stats = redis_provider.get_stats()
    assert stats["errors_by_kind"] == {"decode": 3}
    assert (stats["hits"], stats["misses"]) == (1, 3)
    assert "'foreign'" in caplog.text


def test_stats_show_server_prefix_and_pools(
    make_redis_provider: MakeRedis, redis_endpoint: RedisEndpoint
) -> None:
    provider = make_redis_provider(connection_pool=ConnectionPoolConfig(max_connections=7))
    provider.set("a", 1)
    provider.get("a")

    async def in_a_loop() -> dict[str, object]:
        await asyncio.gather(*(provider.get_async("a") for _ in range(5)))
        return provider.get_stats()

    during = asyncio.run(in_a_loop())
    stats = provider.get_stats()
    assert stats["provider"] == "redis"
    assert stats["server"] == mask_url(redis_endpoint.url)
    assert (stats["key_prefix"], stats["db"]) == (provider.config.key_prefix, redis_endpoint.db)
    assert stats["pool"] == {"max_connections": 7, "in_use": 0, "idle": 1}
    # The five concurrent GETs went out as one MGET (coalescing): one connection.
    assert during["async_pools"] == {"event_loops": 1, "in_use": 0, "idle": 1}
    assert stats["async_pools"] == {"event_loops": 0, "in_use": 0, "idle": 0}  # that loop has closed
    assert (stats["sets"], stats["hits"], stats["errors"]) == (1, 6, 0)
    assert stats["parser"] == "hiredis"


def test_health_of_a_live_server(redis_provider: RedisCacheProvider) -> None:
    report = redis_provider.health()
    assert report["healthy"] is True
    assert report["provider"] == "redis"
    assert report["server"] == redis_provider.get_stats()["server"]
    assert report["detail"].startswith("PONG")


def test_constructing_the_provider_opens_no_connection() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        provider = RedisCacheProvider(RedisCacheConfig(enabled=True, host="127.0.0.1", port=port))
        repr(provider), provider.get_stats()
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody dialled
        provider.close()


def test_default_provider_redis_resolved_through_the_container_reaches_the_server(
    tmp_path: Path, redis_endpoint: RedisEndpoint
) -> None:
    prefix = unique_prefix()
    config = tmp_path / "global.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            cache:
              default_provider: redis
              providers:
                redis:
                  enabled: true
                  url: "{redis_endpoint.url}"
                  key_prefix: "{prefix}"
                  default_ttl: 30
            """
        )
    )
    container = create_container(config)
    raw = redis_endpoint.client()
    try:
        cache = container.resolver().get(ICacheProvider)
        cache.set("via-container", {"ok": True})
        assert cache.get("via-container") == {"ok": True}
        assert 29_000 < raw.pttl(f"{prefix}via-container") <= 30_000
        assert cache.clear() == 1
    finally:
        container.shutdown_resources()
        raw.close()
