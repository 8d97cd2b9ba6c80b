"""Builds the transports (``transport``) from a :class:`RedisCacheConfig`; nothing here dials the server.

This is the one module that knows which kind of client stands behind a transport: ``mode`` is
looked at here, once, and the transport built for it carries every difference between the modes.

Every bound on waiting comes from redis-py itself: socket timeouts bound each connect and reply,
the blocking pool bounds the wait for a free connection (``connection_pool.timeout``), and our
explicit ``Retry`` bounds the attempts (``retries + 1``). So the hot path needs no
``asyncio.wait_for`` of its own. A call to a hung server, sync or async, fails after about
``(retries + 1) * socket_timeout`` - provided ``health_check_interval`` is 0 (the default): with a
positive interval redis-py sends a health-check PING, under its own retries, inside each retried
connect-and-handshake, so a call on a new connection may take ``(retries + 1) ** 2`` timeouts
(measured by tests/faults/test_bounds.py).

``mode`` picks the client, always one of redis-py's own, and its transport: ``redis.Redis`` over a
blocking pool (standalone, ``RedisTransport``); the same over a blocking ``SentinelConnectionPool``,
which asks the sentinels for the master on every new connection and drops connections to a demoted
one (sentinel, ``SentinelTransport``); redis-py's ``RedisCluster`` (cluster, ``ClusterTransport``
of :mod:`cluster_client`). In cluster mode ``max_connections`` bounds
the calls in flight (so the connections to each node), and the retries are the cluster client's,
each after refreshing its map of the cluster.
"""

from __future__ import annotations

import socket
from functools import partial
from typing import Any, cast

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from src.infrastructure.cache.config.cache_config import RedisCacheConfig, parse_address
from src.infrastructure.cache.config.sections import mask_url
from src.infrastructure.cache.providers.redis.cluster_client import AsyncClusterTransport, ClusterTransport
from src.infrastructure.cache.providers.redis.pools import (
    AsyncBlockingPool,
    AsyncBlockingSentinelPool,
    BlockingPool,
    BlockingSentinelPool,
)
from src.infrastructure.cache.providers.redis.server_transport import (
    AsyncRedisTransport,
    RedisTransport,
    SentinelTransport,
)
from src.infrastructure.cache.providers.redis.transport import AsyncTransport, SyncTransport


def server_label(config: RedisCacheConfig) -> str:
    """Where the provider connects, safe to show: ``host:port`` or the URL with its password masked;
    the cluster's startup nodes; or the service name and its sentinels."""
    if config.mode == "sentinel":
        return f"sentinel service {config.service_name!r} via {','.join(config.sentinels)}"
    if config.mode == "cluster" and config.startup_nodes:
        return f"cluster via {','.join(config.startup_nodes)}"
    where = mask_url(config.url) if config.url else f"{config.host}:{config.port}"
    return f"cluster via {where}" if config.mode == "cluster" else where


def uses_tls(config: RedisCacheConfig) -> bool:
    """TLS is on with ``ssl: true`` or a ``rediss://`` URL."""
    return config.ssl or bool(config.url and config.url.startswith("rediss://"))


def sync_transport_for(config: RedisCacheConfig) -> SyncTransport:
    """The sync transport of ``config.mode``, over a thread-safe client. Never dials."""
    if config.mode == "cluster":
        return build_cluster_transport(config)
    client = build_sync_client(config)
    pool = client.connection_pool
    if config.mode == "sentinel":
        return SentinelTransport(
            client, cast(BlockingSentinelPool, pool), config.service_name or "", config.sentinels
        )
    return RedisTransport(client, cast(BlockingPool, pool))


def async_transport_for(config: RedisCacheConfig) -> AsyncTransport:
    """The asyncio transport of ``config.mode``, for one event loop. Never dials."""
    if config.mode == "cluster":
        return build_async_cluster_transport(config)
    client = build_async_client(config)
    return AsyncRedisTransport(client, cast(AsyncBlockingPool, client.connection_pool))


def build_sync_client(config: RedisCacheConfig, **overrides: Any) -> redis.Redis:
    """Standalone or sentinel: a thread-safe client over its own blocking pool (``pools``).

    ``overrides`` replace connection settings (the near cache's invalidation connection sets its
    ``protocol``, ``client_name`` and a pool of one)."""
    kwargs = {**_pool_kwargs(config, _sync_retry(config)), **overrides}
    if config.mode == "sentinel":
        sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            _addresses(config.sentinels), sentinel_kwargs=_sentinel_kwargs(config)
        )
        master = sentinel.master_for(  # type: ignore[no-untyped-call]
            config.service_name, connection_pool_class=BlockingSentinelPool, **kwargs
        )
        return cast(redis.Redis, master)
    if uses_tls(config):
        kwargs["connection_class"] = redis.SSLConnection
    pool_class = BlockingPool
    pool = pool_class.from_url(config.url, **kwargs) if config.url else pool_class(**kwargs)
    return redis.Redis.from_pool(pool)


def build_async_client(config: RedisCacheConfig) -> redis.asyncio.Redis:
    """Standalone or sentinel: an asyncio client over its own blocking pool, for one event loop.

    redis.asyncio connections and the pool's ``asyncio.Condition`` bind to the loop that first uses
    them, so the provider builds one of these per event loop (see ``loop_transports``).
    """
    kwargs = _pool_kwargs(config, _async_retry(config))
    if config.mode == "sentinel":
        sentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            _addresses(config.sentinels), sentinel_kwargs=_sentinel_kwargs(config)
        )
        master = sentinel.master_for(
            config.service_name or "", connection_pool_class=AsyncBlockingSentinelPool, **kwargs
        )
        return cast(redis.asyncio.Redis, master)
    if uses_tls(config):
        kwargs["connection_class"] = redis.asyncio.SSLConnection
    pool_class = AsyncBlockingPool
    pool = pool_class.from_url(config.url, **kwargs) if config.url else pool_class(**kwargs)
    return redis.asyncio.Redis.from_pool(pool)


def build_cluster_transport(config: RedisCacheConfig) -> ClusterTransport:
    """Cluster: redis-py's ``RedisCluster``, built (and the cluster discovered) on first use."""
    pool = config.connection_pool
    return ClusterTransport(
        partial(_sync_cluster, config, _sync_retry(config)), pool.max_connections, pool.timeout
    )


def build_async_cluster_transport(config: RedisCacheConfig) -> AsyncClusterTransport:
    """Cluster: redis.asyncio's ``RedisCluster``, which discovers the cluster on its first command."""
    addresses, kwargs = _cluster_kwargs(config)
    nodes = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in addresses]
    cluster = redis.asyncio.cluster.RedisCluster(startup_nodes=nodes, retry=_async_retry(config), **kwargs)
    return AsyncClusterTransport(
        cluster, config.connection_pool.max_connections, config.connection_pool.timeout
    )


def _sync_retry(config: RedisCacheConfig) -> Retry:
    errors: tuple[type[Exception], ...] = (RedisConnectionError,)
    if config.retry_on_timeout:
        errors += (RedisTimeoutError, socket.timeout)
    return Retry(_backoff(config), config.retries, supported_errors=errors)


def _async_retry(config: RedisCacheConfig) -> AsyncRetry:
    errors: tuple[type[redis.RedisError], ...] = (RedisConnectionError,)
    if config.retry_on_timeout:
        errors += (RedisTimeoutError,)
    return AsyncRetry(_backoff(config), config.retries, supported_errors=errors)


def _backoff(config: RedisCacheConfig) -> ExponentialWithJitterBackoff:
    # Jitter spreads the retries of many clients after a blip. The Retry is always passed
    # explicitly: redis-py 8 otherwise retries 3-10 times with up to 1 s waits, far past our budget.
    return ExponentialWithJitterBackoff(cap=config.retry_backoff_cap, base=config.retry_backoff_base)


def _pool_kwargs(config: RedisCacheConfig, retry: Retry | AsyncRetry) -> dict[str, Any]:
    """Keyword arguments shared by the sync and async blocking pools (and their connections)."""
    kwargs: dict[str, Any] = {
        "max_connections": config.connection_pool.max_connections,
        "timeout": config.connection_pool.timeout,
        "socket_timeout": config.socket_timeout,
        "socket_connect_timeout": config.socket_connect_timeout,
        "retry": retry,
        "health_check_interval": config.health_check_interval,
    }
    if not config.url:  # a URL carries its own host, port, db and credentials, and wins over these
        kwargs.update(db=config.db, username=config.username, password=config.password)
        if config.mode == "standalone":  # a sentinel-managed pool asks the sentinels where to connect
            kwargs.update(host=config.host, port=config.port)
    if uses_tls(config):
        kwargs.update(_tls_kwargs(config))
        if config.mode == "sentinel":  # picks SentinelManagedSSLConnection
            kwargs["ssl"] = True
    return kwargs


def _tls_kwargs(config: RedisCacheConfig) -> dict[str, Any]:
    return {
        "ssl_ca_certs": config.ssl_ca_certs,
        "ssl_certfile": config.ssl_certfile,
        "ssl_keyfile": config.ssl_keyfile,
        "ssl_cert_reqs": config.ssl_cert_reqs,
    }


def _addresses(texts: tuple[str, ...]) -> list[tuple[str, int]]:
    return [parse_address(text) for text in texts]


def _sentinel_kwargs(config: RedisCacheConfig) -> dict[str, Any]:
    """How to reach the sentinels: their own credentials, our timeouts and TLS setting.

    No retries: redis-py asks each sentinel in turn and moves on at the first error, which bounds a
    master lookup by (number of sentinels) x the timeouts.
    """
    kwargs: dict[str, Any] = {
        "socket_timeout": config.socket_timeout,
        "socket_connect_timeout": config.socket_connect_timeout,
        "username": config.sentinel_username,
        "password": config.sentinel_password,
        "retry": Retry(NoBackoff(), 0),
    }
    if uses_tls(config):
        kwargs.update(ssl=True, **_tls_kwargs(config))
    return kwargs


def _cluster_kwargs(config: RedisCacheConfig) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """The startup nodes and the other arguments (but ``retry``) of a sync or async ``RedisCluster``.

    Nodes come from ``startup_nodes``, else from the node ``url`` names (with its credentials).
    """
    username, password = config.username, config.password
    if config.startup_nodes:
        addresses = _addresses(config.startup_nodes)
    else:
        assert config.url is not None  # checked by the config: cluster needs startup_nodes or url
        parts = parse_url(config.url)  # type: ignore[no-untyped-call]
        addresses = [(parts["host"], parts.get("port", 6379))]
        username, password = parts.get("username", username), parts.get("password", password)
    kwargs: dict[str, Any] = {
        "max_connections": config.connection_pool.max_connections,
        "socket_timeout": config.socket_timeout,
        "socket_connect_timeout": config.socket_connect_timeout,
        "username": username,
        "password": password,
    }
    if uses_tls(config):
        kwargs.update(ssl=True, **_tls_kwargs(config))
    return addresses, kwargs


def _sync_cluster(config: RedisCacheConfig, retry: Retry) -> redis.cluster.RedisCluster:
    """redis-py's sync cluster client; building it discovers the cluster (round trips)."""
    addresses, kwargs = _cluster_kwargs(config)
    nodes = [redis.cluster.ClusterNode(host, port) for host, port in addresses]  # type: ignore[no-untyped-call]
    return redis.cluster.RedisCluster(startup_nodes=nodes, retry=retry, **kwargs)
