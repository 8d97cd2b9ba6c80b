"""The Redis side of a run: which server, the providers as services get them, clients, cleanup.

The server is ``--redis-url``, else the configured Redis provider's server (when it is enabled),
else a ``redis-server`` the benchmark starts. Every key the run writes is under one fresh prefix
(``bench:<random>:``) and is deleted at the end (SCAN + UNLINK of that prefix only): a server the
benchmark did not start is never flushed and keeps nothing of the run.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import ExitStack
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import redis
import redis.asyncio
from dependency_injector import providers as di

from src.benchmarks import peer
from src.benchmarks.async_contenders import async_contenders, raw_like_provider
from src.benchmarks.compute_contenders import compute_contenders
from src.benchmarks.pinning import PinPlan, pin_process
from src.benchmarks.redis_contenders import Providers, batch_contenders, sync_contenders
from src.benchmarks.runner import Contender, Progress
from src.benchmarks.server import BenchRedisServer
from src.benchmarks.workload import TTL_SECONDS, Workload
from src.infrastructure.cache.config.cache_config import CacheConfig, RedisCacheConfig
from src.infrastructure.cache.config.sections import mask_url
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import ICacheProvider
from src.services.container import ApplicationContainer

logger = logging.getLogger(__name__)


class ServerUnreachableError(RuntimeError):
    """The server to benchmark (given or configured) does not answer."""


def server_url(config: RedisCacheConfig) -> str:
    """A URL for the raw clients to reach the server ``config`` describes."""
    if config.url:
        return config.url
    scheme = "rediss" if config.ssl else "redis"
    auth = ""
    if config.password:
        auth = f"{quote(config.username or '', safe='')}:{quote(config.password, safe='')}@"
    return f"{scheme}://{auth}{config.host}:{config.port}/{config.db}"


class RedisSession:
    """Opens everything the Redis contenders need inside ``stack``; closes and cleans up after."""

    def __init__(self, stack: ExitStack, cache_config: CacheConfig, redis_url: str | None) -> None:
        self._stack = stack
        self._configured = cache_config
        self._redis_url = redis_url
        self.prefix = f"bench:{uuid.uuid4().hex[:12]}:"
        self.server: BenchRedisServer | None = None
        self.url = ""
        self.version = "?"
        self._raw_async: list[redis.asyncio.Redis] = []
        self._peer: Any = None

    def open(self, pin: PinPlan, say: Progress) -> None:
        """Choose (or start) the server and check that it answers."""
        configured = self._configured.providers["redis"]
        assert isinstance(configured, RedisCacheConfig)
        if self._redis_url:
            self.url, origin = self._redis_url, "--redis-url"
        elif configured.enabled:
            self.url, origin = server_url(configured), "the configured redis provider"
        else:
            self.server = self._stack.enter_context(BenchRedisServer())
            pin_process(self.server.pid, pin.server)
            self.url, origin = self.server.url, f"started by the benchmark (pid {self.server.pid})"
        self.raw = redis.Redis.from_url(self.url)  # the raw contender: redis-py's default settings
        self._stack.callback(self.raw.close)
        try:
            self.version = str(self.raw.info("server").get("redis_version", "?"))
        except (redis.RedisError, OSError) as exc:
            raise ServerUnreachableError(f"redis at {mask_url(self.url)} ({origin}): {exc}") from exc
        say(f"redis-server {self.version}, {origin}; keys under {self.prefix!r}")

    def contenders(
        self, workload: Workload, runner: asyncio.Runner, tasks: tuple[int, ...], say: Progress
    ) -> list[Contender]:
        """Build the providers (container and bare), the raw clients and the peer; fill the keys."""
        configured = self._configured.providers["redis"]
        assert isinstance(configured, RedisCacheConfig)
        config = replace(configured, enabled=True, url=self.url, key_prefix=self.prefix)
        bench_config = replace(self._configured, providers={**self._configured.providers, "redis": config})
        self.config = config
        self.bench_config = bench_config  # the run's Redis cache: url and prefix (near_contenders)
        container = ApplicationContainer(config=di.Object(bench_config))
        self._stack.callback(container.shutdown_resources)
        ours = self.ours = container.resolver().get_named(ICacheProvider, "redis")
        bare = RedisCacheProvider(config)
        self._stack.callback(self._cleanup, runner, bare, ours)
        providers: Providers = [
            ("ours", "agent-cache redis (container)", ours),
            ("bare", "agent-cache redis (bare provider)", bare),
        ]
        bare.set_many(dict.fromkeys(workload.keys, workload.value), TTL_SECONDS)
        default_raw = self.raw_async = redis.asyncio.Redis.from_url(self.url)  # redis.asyncio as it comes
        pool_raw = raw_like_provider(self.url, config)  # and built like the provider's client
        self._raw_async = [default_raw, pool_raw]
        if peer.available():
            self._peer = peer.make_aiocache(self.url, f"{self.prefix}aiocache:")
            runner.run(
                self._peer.multi_set([(key, workload.value) for key in workload.keys], ttl=TTL_SECONDS)
            )
        else:
            say("aiocache is not installed (pip install 'agent-cache[bench]'): no peer figures")
        return [
            *sync_contenders(workload, self.raw, self.prefix, providers),
            *async_contenders(
                workload,
                runner=runner,
                raws=[
                    ("raw", "raw redis.asyncio + hiredis", default_raw),
                    ("raw-pool", "raw redis.asyncio, provider's pool + timeouts", pool_raw),
                ],
                prefix=self.prefix,
                providers=providers,
                peer=self._peer,
                task_counts=tasks,
            ),
            *batch_contenders(workload, self.raw, self.prefix, providers),
            *compute_contenders("redis", ours, workload, runner),
        ]

    def _cleanup(self, runner: asyncio.Runner, bare: ICacheProvider, ours: ICacheProvider) -> None:
        """Delete every key of the run, then close what the run opened on the event loop."""
        try:
            removed = bare.clear()  # SCAN MATCH <prefix>* + UNLINK: raw's and aiocache's keys included
            logger.info("removed the benchmark's %d keys under %r", removed, self.prefix)
        finally:
            runner.run(self._aclose(bare, ours))

    async def _aclose(self, bare: ICacheProvider, ours: ICacheProvider) -> None:
        await bare.aclose()
        await ours.aclose()
        for client in self._raw_async:
            await client.aclose()
        if self._peer is not None:
            await self._peer.close()
