"""How the config becomes redis-py pools: blocking pools, our retry budget, timeouts, URL, TLS."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio
from redis.utils import HIREDIS_AVAILABLE

from src.infrastructure.cache.config.cache_config import ConnectionPoolConfig, RedisCacheConfig
from src.infrastructure.cache.providers.redis.client_factory import (
    build_async_client,
    build_sync_client,
    server_label,
)


def config(**settings: object) -> RedisCacheConfig:
    return RedisCacheConfig(**{"enabled": True, **settings})  # type: ignore[arg-type]


def test_sync_pool_blocks_for_the_pool_timeout_with_our_retry_budget() -> None:
    pool = build_sync_client(
        config(
            host="cache.internal",
            port=6390,
            db=3,
            socket_timeout=0.25,
            socket_connect_timeout=0.5,
            retries=2,
            connection_pool=ConnectionPoolConfig(max_connections=12, timeout=0.75),
        )
    ).connection_pool
    assert isinstance(pool, redis.BlockingConnectionPool)
    assert (pool.max_connections, pool.timeout) == (12, 0.75)
    kwargs = pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("cache.internal", 6390, 3)
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (0.25, 0.5)
    assert kwargs["retry"].get_retries() == 2  # not redis-py 8's default of 10


def test_async_pool_mirrors_the_sync_one() -> None:
    async def build() -> redis.asyncio.BlockingConnectionPool:
        client = build_async_client(
            config(retries=0, connection_pool=ConnectionPoolConfig(max_connections=4))
        )
        pool = client.connection_pool
        await client.aclose()
        assert isinstance(pool, redis.asyncio.BlockingConnectionPool)
        return pool

    pool = asyncio.run(build())
    assert (pool.max_connections, pool.timeout) == (4, 2.0)
    assert pool.connection_kwargs["retry"].get_retries() == 0


def test_url_replaces_host_port_db_and_credentials() -> None:
    settings = config(url="redis://reader:s3cret@10.0.0.5:6400/7", host="ignored", password="ignored")
    kwargs = build_sync_client(settings).connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("10.0.0.5", 6400, 7)
    assert (kwargs["username"], kwargs["password"]) == ("reader", "s3cret")
    assert server_label(settings) == "redis://reader:***@10.0.0.5:6400/7"


def test_tls_uses_ssl_connections_with_the_configured_certificates() -> None:
    certs = {"ssl_ca_certs": "/etc/ca.pem", "ssl_certfile": "/etc/me.pem", "ssl_keyfile": "/etc/me.key"}
    for settings in (
        config(ssl=True, ssl_cert_reqs="optional", **certs),
        config(url="rediss://h:6380/0", **certs),
    ):
        pool = build_sync_client(settings).connection_pool
        assert pool.connection_class is redis.SSLConnection
        assert {key: pool.connection_kwargs[key] for key in certs} == certs
    assert (
        build_sync_client(config(ssl=True, ssl_cert_reqs="optional")).connection_pool.connection_kwargs[
            "ssl_cert_reqs"
        ]
        == "optional"
    )


def test_redis_py_picks_the_hiredis_parser_by_itself() -> None:
    assert HIREDIS_AVAILABLE  # installed through the redis[hiredis] dependency
    assert redis.connection.DefaultParser.__name__ == "_HiredisParser"
    assert redis.asyncio.connection.DefaultParser.__name__ == "_AsyncHiredisParser"
