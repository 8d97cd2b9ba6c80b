"""A worker process asking the LLM cache one request, as an agent worker would.

Run as ``python -m tests.llm.llm_child '<json>'``. The JSON holds ``config`` (``RedisCacheConfig``
fields), ``wrapped`` (behind the failure policy, as services get it), ``mode`` (``complete`` or
``stream``), ``colour`` (``threads`` or ``tasks``), ``workers``, ``model_seconds``, ``start_at``
(a ``time.time()`` every process waits for, so they all ask at once), ``counter_url`` and
``counter`` (a Redis key outside the cache's prefix that each model call INCRs). It prints one
JSON line: the answers it got and its cache's stats.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import redis

from src.infrastructure.cache.config.cache_config import CacheConfig, MemoryCacheConfig, RedisCacheConfig
from src.infrastructure.cache.config.llm_config import LLMCacheConfig
from src.infrastructure.cache.llm.response_cache import LLMResponseCache
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import ICacheProvider
from src.services.container.bindings.cache_bindings import resilient_redis_provider
from tests.llm.builders import chat_request, chunks_for, response_for


def build(spec: dict[str, Any]) -> ICacheProvider:
    config = RedisCacheConfig(**spec["config"])
    if spec.get("wrapped"):
        return resilient_redis_provider(
            CacheConfig(default_provider="redis", providers={"redis": config, "memory": MemoryCacheConfig()})
        )
    return RedisCacheProvider(config)


def main(spec: dict[str, Any]) -> dict[str, Any]:
    provider = build(spec)
    cache = LLMResponseCache(provider, LLMCacheConfig(wait_timeout=30))
    counter = redis.Redis.from_url(spec["counter_url"])
    seconds, name = spec["model_seconds"], spec["name"]
    text = f"answer from {name}"

    def model() -> dict[str, Any]:
        counter.incr(spec["counter"])
        time.sleep(seconds)
        return response_for(text)

    async def model_async() -> dict[str, Any]:
        counter.incr(spec["counter"])
        await asyncio.sleep(seconds)
        return response_for(text)

    def model_stream() -> Iterator[dict[str, Any]]:
        counter.incr(spec["counter"])
        for chunk in chunks_for(text):
            time.sleep(seconds / 10)
            yield chunk

    async def model_stream_async() -> AsyncIterator[dict[str, Any]]:
        counter.incr(spec["counter"])
        for chunk in chunks_for(text):
            await asyncio.sleep(seconds / 10)
            yield chunk

    def ask() -> Any:
        if spec["mode"] == "complete":
            return cache.complete(chat_request(), model)
        return list(cache.stream(chat_request(), model_stream))

    async def ask_async() -> Any:
        if spec["mode"] == "complete":
            return await cache.complete_async(chat_request(), model_async)
        return [chunk async for chunk in cache.stream_async(chat_request(), model_stream_async)]

    time.sleep(max(0.0, spec["start_at"] - time.time()))
    answers: list[Any] = []
    if spec["colour"] == "threads":
        threads = [threading.Thread(target=lambda: answers.append(ask())) for _ in range(spec["workers"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:

        async def workers() -> list[Any]:
            return list(await asyncio.gather(*(ask_async() for _ in range(spec["workers"]))))

        answers = asyncio.run(workers())
    stats = cache.get_stats()
    provider.close()
    return {"answers": answers, "stats": {name: stats[name] for name in ("hits", "misses", "errors")}}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
