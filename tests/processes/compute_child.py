"""A process that asks for one key through ``get_or_set``, as an agent worker would.

Run as ``python -m tests.processes.compute_child '<json>'``. The JSON holds ``config`` (Redis
settings, ``RedisCacheConfig`` fields), ``wrapped`` (build it as services get it, behind the failure
policy), ``key``, ``workers``, ``colour`` (``threads`` or ``tasks``), ``compute_seconds``,
``start_at`` (a ``time.time()`` every process waits for, so they all ask at once), ``counter_url``
and ``counter`` (a Redis key, outside the cache's prefix, that each computation INCRs), and
``options`` (per-call ``get_or_set`` options). It prints one JSON line: the answers it got.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from typing import Any

import redis

from src.infrastructure.cache.config.cache_config import CacheConfig, MemoryCacheConfig, RedisCacheConfig
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import ICacheProvider
from src.services.container.bindings.cache_bindings import resilient_redis_provider


def build(spec: dict[str, Any]) -> ICacheProvider:
    settings: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value for name, value in spec["config"].items()
    }
    config = RedisCacheConfig(**settings)
    if spec.get("wrapped"):
        return resilient_redis_provider(
            CacheConfig(default_provider="redis", providers={"redis": config, "memory": MemoryCacheConfig()})
        )
    return RedisCacheProvider(config)


def main(spec: dict[str, Any]) -> list[Any]:
    cache = build(spec)
    counter = redis.Redis.from_url(spec["counter_url"])
    key, seconds, options = spec["key"], spec["compute_seconds"], spec.get("options", {})

    def model() -> str:
        counter.incr(spec["counter"])
        print(json.dumps({"computing": True}), flush=True)
        time.sleep(seconds)
        return f"answer from {spec['name']}"

    async def model_async() -> str:
        counter.incr(spec["counter"])
        print(json.dumps({"computing": True}), flush=True)
        await asyncio.sleep(seconds)
        return f"answer from {spec['name']}"

    time.sleep(max(0.0, spec["start_at"] - time.time()))
    print(json.dumps({"asking": True}), flush=True)
    answers: list[Any] = []
    if spec["colour"] == "threads":

        def worker() -> None:
            answers.append(cache.get_or_set(key, model, **options))

        threads = [threading.Thread(target=worker) for _ in range(spec["workers"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:

        async def workers() -> list[Any]:
            asks = (cache.get_or_set_async(key, model_async, **options) for _ in range(spec["workers"]))
            return list(await asyncio.gather(*asks))

        answers = asyncio.run(workers())
    answered_at = time.time()
    stats = cache.get_stats()["compute"]
    cache.close()
    return [answers, stats, answered_at]


if __name__ == "__main__":
    answers, stats, answered_at = main(json.loads(sys.argv[1]))
    print(json.dumps({"answers": answers, "stats": stats, "answered_at": answered_at}), flush=True)
