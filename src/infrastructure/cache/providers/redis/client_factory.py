"""Builds redis-py clients from a :class:`RedisCacheConfig`; nothing here dials the server.

Every bound on waiting comes from redis-py itself: socket timeouts bound each connect and reply,
the blocking pool bounds the wait for a free connection (``connection_pool.timeout``), and our
explicit ``Retry`` bounds the attempts (``retries + 1``). So the hot path needs no
``asyncio.wait_for`` of its own. A sync call to a hung server fails after about
``(retries + 1) * socket_timeout``; redis.asyncio also retries the connect-and-handshake inside each
retried command, so an async call may take up to ``(retries + 1) ** 2`` socket timeouts.
"""

from __future__ import annotations

import socket
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.observability.attributes import DB_CLIENT_CONNECTION_STATE
from redis.retry import Retry

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.config.sections import mask_url


def server_label(config: RedisCacheConfig) -> str:
    """Where the provider connects, safe to show: ``host:port``, or the URL with its password masked."""
    return mask_url(config.url) if config.url else f"{config.host}:{config.port}"


def uses_tls(config: RedisCacheConfig) -> bool:
    """TLS is on with ``ssl: true`` or a ``rediss://`` URL."""
    return config.ssl or bool(config.url and config.url.startswith("rediss://"))


def build_sync_client(config: RedisCacheConfig) -> redis.Redis:
    """A thread-safe client over its own blocking pool; the client's ``close()`` closes the pool."""
    errors: tuple[type[Exception], ...] = (RedisConnectionError,)
    if config.retry_on_timeout:
        errors += (RedisTimeoutError, socket.timeout)
    retry = Retry(_backoff(config), config.retries, supported_errors=errors)
    kwargs = _pool_kwargs(config, retry)
    if uses_tls(config):
        kwargs["connection_class"] = redis.SSLConnection
    pool_class = redis.BlockingConnectionPool
    pool = pool_class.from_url(config.url, **kwargs) if config.url else pool_class(**kwargs)  # type: ignore[no-untyped-call]
    return redis.Redis.from_pool(pool)


def build_async_client(config: RedisCacheConfig) -> redis.asyncio.Redis:
    """An asyncio client over its own blocking pool, usable on one event loop only.

    redis.asyncio connections and the pool's ``asyncio.Condition`` bind to the loop that first uses
    them, so the provider builds one of these per event loop (see ``loop_clients``).
    """
    errors: tuple[type[redis.RedisError], ...] = (RedisConnectionError,)
    if config.retry_on_timeout:
        errors += (RedisTimeoutError,)
    retry = AsyncRetry(_backoff(config), config.retries, supported_errors=errors)
    kwargs = _pool_kwargs(config, retry)
    if uses_tls(config):
        kwargs["connection_class"] = redis.asyncio.SSLConnection
    pool_class = redis.asyncio.BlockingConnectionPool
    pool = pool_class.from_url(config.url, **kwargs) if config.url else pool_class(**kwargs)
    return redis.asyncio.Redis.from_pool(pool)


def pool_usage(pool: redis.ConnectionPool | redis.asyncio.ConnectionPool) -> tuple[int, int]:
    """``(connections in use, idle connections)`` of a sync or async pool."""
    counts = {attrs.get(DB_CLIENT_CONNECTION_STATE): count for count, attrs in pool.get_connection_count()}
    return counts.get("used", 0), counts.get("idle", 0)


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
        kwargs.update(host=config.host, port=config.port, db=config.db)
        kwargs.update(username=config.username, password=config.password)
    if uses_tls(config):
        kwargs.update(
            ssl_ca_certs=config.ssl_ca_certs,
            ssl_certfile=config.ssl_certfile,
            ssl_keyfile=config.ssl_keyfile,
            ssl_cert_reqs=config.ssl_cert_reqs,
        )
    return kwargs
