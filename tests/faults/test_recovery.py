"""What recovery replays, and where its limits are: a clear, and more invalidations than remembered."""

from __future__ import annotations

import pytest

from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from tests.faults.conftest import MakeResilient, circuit, settle
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis


def keys_in_redis(server: RedisServer, cache: ResilientCacheProvider) -> set[str]:
    prefix = cache.primary.get_stats()["key_prefix"]
    raw = server.client()
    try:
        return {name.decode()[len(prefix) :] for name in raw.scan_iter(match=prefix + "*")}
    finally:
        raw.close()


def open_circuit_by_pausing(server: RedisServer, cache: ResilientCacheProvider, first_write: object) -> None:
    """Pause the server (its data stays) and make one write fail, which opens the circuit at once."""
    server.pause()
    first_write_call = first_write if callable(first_write) else None
    assert first_write_call is not None
    first_write_call()
    assert circuit(cache)["state"] == "open"


def resume_and_recover(server: RedisServer, cache: ResilientCacheProvider) -> None:
    server.resume()
    settle(cache)


def test_a_clear_during_the_outage_is_not_undone(
    redis_process: RedisServer, make_resilient: MakeResilient
) -> None:
    cache = make_resilient(redis_process.url)
    cache.set_many({f"old{i}": i for i in range(20)})
    open_circuit_by_pausing(redis_process, cache, cache.clear)
    cache.set("during", "served by the fallback")
    assert cache.get("during") == "served by the fallback"
    assert cache.get("old1") is None  # the fallback never serves what Redis held before
    assert cache.get_stats()["resilience"]["pending_invalidations"] == "all (clear)"
    resume_and_recover(redis_process, cache)
    assert keys_in_redis(redis_process, cache) == set()  # the old values did not come back...
    assert cache.get("during") is None  # ...and what the outage wrote stayed in the fallback, now emptied
    cache.set("after", 1)
    assert keys_in_redis(redis_process, cache) == {"after"}  # traffic is back on Redis
    assert cache.get_stats()["resilience"]["invalidations_replayed"] == 1


def test_more_invalidations_than_remembered_clear_the_namespace(
    redis_process: RedisServer, make_resilient: MakeResilient
) -> None:
    cache = make_resilient(redis_process.url, max_pending_invalidations=5)
    cache.set_many({f"k{i}": i for i in range(20)})
    open_circuit_by_pausing(redis_process, cache, lambda: cache.delete("k0"))
    for i in range(1, 4):
        cache.delete(f"k{i}")
    assert cache.get_stats()["resilience"]["pending_invalidations"] == 4
    cache.set_many({"k4": "new", "k5": "new"})  # the sixth key: over the limit
    assert cache.get_stats()["resilience"]["pending_invalidations"] == "all (clear)"
    resume_and_recover(redis_process, cache)
    # The documented limit: the keys the outage never touched go too. A miss, never a stale value.
    assert keys_in_redis(redis_process, cache) == set()


def test_each_invalidated_key_is_deleted_and_no_other(
    redis_process: RedisServer, make_resilient: MakeResilient
) -> None:
    cache = make_resilient(redis_process.url)
    cache.set_many({f"k{i}": i for i in range(10)})
    open_circuit_by_pausing(redis_process, cache, lambda: cache.set("k0", "new"))
    cache.delete("k1")
    cache.delete_many(["k2", "k3", "absent"])
    cache.set_many({"k4": "new"})
    resume_and_recover(redis_process, cache)
    assert keys_in_redis(redis_process, cache) == {f"k{i}" for i in range(5, 10)}
    assert cache.get_many([f"k{i}" for i in range(10)]) == {f"k{i}": i for i in range(5, 10)}
    stats = cache.get_stats()["resilience"]
    assert (stats["invalidations_replayed"], stats["pending_invalidations"]) == (6, 0)
