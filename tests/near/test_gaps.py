"""Gaps in invalidation: each empties the near cache, and no stale value is read after it.

A gap is any moment invalidations may have been lost: the invalidation connection killed
(``CLIENT KILL``), Redis restarted (here without persistence: it comes back empty), Redis frozen
(SIGSTOP: the socket stays open, nothing answers, so only the unanswered PING tells). In each, the
near cache holds ``old``; another client changes the key while this process's tracking is down (or,
when frozen, queues the change for when it resumes); after the flush, no read returns ``old``, and
once tracking is back the near cache serves again. Both protocols, sync and async.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.infrastructure.cache.providers.redis.tracking import CLIENT_NAME
from src.interfaces.llm.cache import ICacheProvider
from tests.conftest import unique_prefix
from tests.near.conftest import PING_INTERVAL, MakeNear, near, wait_for
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis

#: Time for a gap to be noticed and the flush made: EOF at once; an unanswered PING within
#: 2 x PING_INTERVAL; plus scheduling on a busy 2-core machine.
NOTICED_WITHIN = 2 * PING_INTERVAL + 1.0
#: Time for the cache to serve again after Redis is back: reconnection waits (<= 1 s), the
#: circuit's open_interval (0.5 s), the probe.
BACK_WITHIN = 5.0
#: How long reads are watched for a stale value after the flush.
WATCH = 0.3


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
def writer(redis_process: RedisServer, prefix: str) -> Iterator[RedisCacheProvider]:
    """Another client of the same cache: its writes are invalidations for the near cache."""
    other = RedisCacheProvider(RedisCacheConfig(enabled=True, url=redis_process.url, key_prefix=prefix))
    yield other
    other.close()


def _holding_old(make_near: MakeNear, server: RedisServer, prefix: str) -> ICacheProvider:
    cache = make_near(server.url, key_prefix=prefix)
    invalidations = near(cache)["invalidations"]
    cache.set("k", "old")
    # The server echoes our own write as an invalidation too, a moment later: wait for it, or it
    # would drop what the reads below put in the near cache.
    wait_for(lambda: near(cache)["invalidations"] > invalidations, 1.0, "the echo of our own write")
    hits = near(cache)["hits"]
    assert cache.get("k") == cache.get("k") == "old"
    assert near(cache)["hits"] > hits  # held near
    return cache


def _never_old_again(cache: ICacheProvider, writer: RedisCacheProvider) -> None:
    """No read returns ``old`` from now on; the near cache serves again, with ``new``."""
    watch_until = time.monotonic() + WATCH
    while time.monotonic() < watch_until:
        assert cache.get("k") != "old", "stale read after the flush"
    wait_for(lambda: near(cache)["serving"] and cache.get("k") == "new", BACK_WITHIN, "serving new again")
    hits = near(cache)["hits"]
    assert cache.get("k") == "new"
    assert near(cache)["hits"] == hits + 1  # from the near cache again
    writer.set("k", "newer")  # and kept coherent by the new tracking connection
    wait_for(lambda: cache.get("k") == "newer", 1.0, "a later change seen")


def _invalidation_connections(client: redis.Redis) -> list[str]:
    return [entry["id"] for entry in client.client_list() if entry.get("name") == CLIENT_NAME]


def test_client_kill_of_the_invalidation_connection(
    make_near: MakeNear, redis_process: RedisServer, prefix: str, writer: RedisCacheProvider
) -> None:
    cache = _holding_old(make_near, redis_process, prefix)
    flushes = near(cache)["flushes"]
    with redis_process.client() as admin:
        [tracking] = _invalidation_connections(admin)
        admin.execute_command("CLIENT", "KILL", "ID", tracking)
    killed_at = time.monotonic()
    writer.set("k", "new")  # its invalidation has no connection to go to
    wait_for(lambda: near(cache)["flushes"] > flushes, NOTICED_WITHIN, "flush after CLIENT KILL")
    noticed = time.monotonic() - killed_at
    _never_old_again(cache, writer)
    with redis_process.client() as admin:
        assert len(_invalidation_connections(admin)) == 1  # reconnected, once
    print(f"\nCLIENT KILL noticed within {noticed * 1e3:.1f} ms")


def test_a_redis_restart_with_the_circuit_opening_meanwhile(
    make_near: MakeNear, redis_process: RedisServer, prefix: str, writer: RedisCacheProvider
) -> None:
    cache = _holding_old(make_near, redis_process, prefix)
    flushes = near(cache)["flushes"]
    redis_process.kill()
    wait_for(lambda: near(cache)["flushes"] > flushes, NOTICED_WITHIN, "flush when Redis went away")
    for _ in range(3):  # failed reads open the circuit: the fallback (empty) answers meanwhile
        assert cache.get("k") is None
    assert cache.get_stats()["resilience"]["circuit"]["state"] == "open"
    redis_process.start()  # back empty, on the same port: "old" is gone from Redis
    writer.set("k", "new")
    _never_old_again(cache, writer)
    assert cache.get_stats()["resilience"]["circuit"]["state"] == "closed"


def test_a_frozen_redis(
    make_near: MakeNear, redis_process: RedisServer, prefix: str, writer: RedisCacheProvider
) -> None:
    cache = _holding_old(make_near, redis_process, prefix)
    flushes = near(cache)["flushes"]
    redis_process.pause()
    try:
        # The change waits in the server's socket buffer; it is applied the moment Redis resumes.
        pending = threading.Thread(target=writer.set, args=("k", "new"))
        pending.start()
        waited = wait_for(lambda: near(cache)["flushes"] > flushes, NOTICED_WITHIN, "flush while frozen")
        assert not near(cache)["serving"]
    finally:
        redis_process.resume()
    pending.join(timeout=5)
    _never_old_again(cache, writer)
    print(f"\nSIGSTOP noticed in {waited * 1e3:.0f} ms (ping_interval {PING_INTERVAL} s)")


def test_a_flush_of_the_database_by_anyone_empties_the_near_cache(
    make_near: MakeNear, redis_process: RedisServer, prefix: str
) -> None:
    cache = _holding_old(make_near, redis_process, prefix)
    with redis_process.client() as admin:
        admin.flushdb()
    wait_for(lambda: near(cache)["size"] == 0, 1.0, "emptied by FLUSHDB's invalidation")
    assert cache.get("k") is None
