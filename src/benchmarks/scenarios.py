"""One-shot scenarios the benchmark reports beside its throughput rows (issues 11 and 12).

* **Stampede**: 64 callers (tasks, then threads) ask at once for one missing key whose computation
  takes 200 ms: how many computations ran, and how many commands the Redis server received while
  they waited (its ``INFO commandstats``, all clients of the server included).
* **Namespace clear beside many keys** (``--namespace-keys N``): clearing a 10-entry namespace on a
  database holding N other keys, against the SCAN-based clear of a 10-key cache prefix (what
  ``clear()`` of a cache does, and what clearing a scope cost before namespaces): time and round
  trips of each.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import redis

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.keyspace import SCAN_COUNT
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.interfaces.llm.cache import ICacheProvider

STAMPEDE_CALLERS = 64
STAMPEDE_COMPUTE = 0.2
_FILL_BATCH = 100_000

# Writes or unlinks KEYS[1] .. i for i in [ARGV[1], ARGV[2]] (KEYS[1] is a name prefix: the
# benchmark's own standalone server, where a script may touch keys it does not declare).
_FILL = "for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do redis.call('SET', KEYS[1] .. i, 'x') end"
_EMPTY = "for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do redis.call('UNLINK', KEYS[1] .. i) end"


def stampede(cache: ICacheProvider, raw: redis.Redis, runner: asyncio.Runner) -> list[str]:
    """The stampede, with tasks then threads, as report lines."""
    return [
        _stampede("tasks", cache, raw, lambda ask: runner.run(_gathered(ask))),
        _stampede("threads", cache, raw, _threaded),
    ]


def _stampede(kind: str, cache: ICacheProvider, raw: redis.Redis, crowd: Callable[[Any], None]) -> str:
    key = f"bench:stampede:{uuid.uuid4().hex}"
    computations: list[float] = []

    def model() -> str:
        computations.append(time.monotonic())
        time.sleep(STAMPEDE_COMPUTE)
        return "answer"

    async def model_async() -> str:
        computations.append(time.monotonic())
        await asyncio.sleep(STAMPEDE_COMPUTE)
        return "answer"

    before = _commands(raw)
    started = time.monotonic()
    if kind == "tasks":
        crowd(lambda: cache.get_or_set_async(key, model_async))
    else:
        crowd(lambda: cache.get_or_set(key, model))
    elapsed = time.monotonic() - started
    commands = _commands(raw) - before - 1  # the second INFO counts itself
    cache.delete(key)
    return (
        f"stampede ({kind}): {STAMPEDE_CALLERS} callers asked at once for one missing key "
        f"({STAMPEDE_COMPUTE * 1000:.0f} ms to compute): {len(computations)} computation(s), "
        f"{commands} Redis commands in all, {elapsed * 1000:.0f} ms until the last caller had it"
    )


async def _gathered(ask: Callable[[], Any]) -> None:
    await asyncio.gather(*(ask() for _ in range(STAMPEDE_CALLERS)))


def _threaded(ask: Callable[[], Any]) -> None:
    start = threading.Barrier(STAMPEDE_CALLERS)

    def caller() -> None:
        start.wait()
        ask()

    threads = [threading.Thread(target=caller) for _ in range(STAMPEDE_CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _commands(raw: redis.Redis) -> int:
    stats: dict[str, Any] = raw.info("commandstats")
    return sum(int(stat["calls"]) for stat in stats.values())


def namespace_clear(config: RedisCacheConfig, raw: redis.Redis, other_keys: int) -> list[str]:
    """The namespace-clear scenario on ``other_keys`` keys of filler, as report lines."""
    filler = f"{config.key_prefix}filler:".encode()
    fill, empty = raw.register_script(_FILL), raw.register_script(_EMPTY)
    for first in range(0, other_keys, _FILL_BATCH):
        fill(keys=[filler], args=[first, min(first + _FILL_BATCH, other_keys) - 1])
    cache = RedisCacheProvider(replace(config, key_prefix=f"{config.key_prefix}ns:"))
    scoped = RedisCacheProvider(replace(config, key_prefix=f"{config.key_prefix}scan:"))
    try:
        session = cache.namespace("tenant:bench").namespace("session:42")
        session.set_many({f"k{i}": i for i in range(10)})
        scoped.set_many({f"k{i}": i for i in range(10)})
        namespace_seconds, namespace_removed = _timed(session.clear)
        scan_seconds, scan_removed = _timed(scoped.clear)
    finally:
        for first in range(0, other_keys, _FILL_BATCH):
            empty(keys=[filler], args=[first, min(first + _FILL_BATCH, other_keys) - 1])
        cache.clear()
        cache.close()
        scoped.close()
    keys = raw.dbsize()
    return [
        f"namespace clear beside {other_keys:,} other keys: a 10-entry namespace cleared in "
        f"{namespace_seconds * 1000:.2f} ms (removed {namespace_removed}; 2 round trips: a page of "
        f"its index, then an empty one)",
        f"SCAN-based clear of a 10-key prefix beside the same keys: {scan_seconds * 1000:.1f} ms "
        f"(removed {scan_removed}; about {(other_keys + 10) // SCAN_COUNT + 1:,} SCAN round trips); "
        f"{scan_seconds / namespace_seconds:,.0f}x the namespace's time ({keys:,} keys left after)",
    ]


def _timed(clear: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    removed = clear()
    return time.perf_counter() - started, removed
