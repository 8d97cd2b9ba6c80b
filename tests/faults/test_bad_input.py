"""Hostile input through the provider services get, with Redis up and with Redis down.

The contract suite already proves each bad input is refused by every provider (``tests/contract``),
and the config tests cover hostile configuration (``tests/config``). Here: the same inputs through
the resilient wrapper, under every failure policy, while Redis is up and while it is down - each
gets its clear error, never trips the circuit, and nothing already stored in Redis is lost or
changed, including after the recovery that replays the outage's invalidations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from typing import Any

import pytest

from src.infrastructure.cache import serialization
from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from src.interfaces.llm.cache import CacheError, CacheSerializationError, CacheUnavailableError
from tests.faults.conftest import MakeResilient, circuit, settle
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis

#: Stored before the bad input; keys chosen to collide with sloppy escaping or encoding.
STORED = {
    "precious": {"kept": True},
    "a*": "glob star",
    "ab": "what a* would match as a pattern",
    "[x]": "brackets",
    "new\nline": "newline",
    "with space": "space",
    "ключ-键-🔑": "unicode",
    "x" * 1024: "longest key allowed",
}

# The cache is typed Any: these calls break the contract's types on purpose.
Bad = Callable[[Any], Any]
BAD_CALLS: dict[str, tuple[Bad, type[Exception]]] = {
    "set-unserializable": (lambda c: c.set("precious", {1, 2}), CacheSerializationError),
    "set-object": (lambda c: c.set("precious", object()), CacheSerializationError),
    "set_many-one-bad-value": (
        lambda c: c.set_many({"ab": 1, "precious": object()}),
        CacheSerializationError,
    ),
    "set-oversized": (lambda c: c.set("precious", "x" * 4096), CacheSerializationError),
    "set_many-oversized": (
        lambda c: c.set_many({"ab": "y", "precious": b"x" * 4096}),
        CacheSerializationError,
    ),
    "get-int-key": (lambda c: c.get(7), TypeError),
    "set-bytes-key": (lambda c: c.set(b"precious", 1), TypeError),
    "delete-none-key": (lambda c: c.delete(None), TypeError),
    "exists-float-key": (lambda c: c.exists(1.5), TypeError),
    "get_many-single-str": (lambda c: c.get_many("precious"), TypeError),
    "delete_many-one-bad-key": (lambda c: c.delete_many(["precious", 5]), TypeError),
    "set-key-over-1024": (lambda c: c.set("x" * 1025, 1), ValueError),
    "get-megabyte-key": (lambda c: c.get("k" * 1_000_000), ValueError),
    "delete-empty-key": (lambda c: c.delete(""), ValueError),
    "delete-lone-surrogate": (lambda c: c.delete("bad\ud800"), ValueError),
    "set-negative-ttl": (lambda c: c.set("precious", 2, ttl=-1), ValueError),
    "set_many-nan-ttl": (lambda c: c.set_many({"precious": 2}, ttl=float("nan")), ValueError),
    "set-bool-ttl": (lambda c: c.set("precious", 2, ttl=True), ValueError),
}
AsyncBad = Callable[[Any], Awaitable[Any]]
ASYNC_BAD_CALLS: dict[str, tuple[AsyncBad, type[Exception]]] = {
    "set_async-unserializable": (lambda c: c.set_async("precious", {1}), CacheSerializationError),
    "set_async-oversized": (lambda c: c.set_async("precious", "x" * 4096), CacheSerializationError),
    "get_async-int-key": (lambda c: c.get_async(7), TypeError),
    "delete_async-too-long": (lambda c: c.delete_async("x" * 1025), ValueError),
    "set_many_async-bad-ttl": (lambda c: c.set_many_async({"precious": 1}, ttl=-3), ValueError),
}


def redis_contents(server: RedisServer, prefix: str) -> dict[str, Any]:
    """Every entry under ``prefix``, decoded, read straight from Redis."""
    raw = server.client()
    try:
        names = list(raw.scan_iter(match=prefix.replace("*", "\\*") + "*", count=500))
        return {name.decode()[len(prefix) :]: serialization.loads(raw.get(name) or b"") for name in names}
    finally:
        raw.close()


def try_every_bad_input(cache: ResilientCacheProvider) -> None:
    """Each bad call raises its own error type, and nothing else."""
    calls: list[tuple[str, Callable[[], Any], type[Exception]]] = [
        *((name, lambda call=call: call(cache), error) for name, (call, error) in BAD_CALLS.items()),
        *(
            (name, lambda call=call: asyncio.run(call(cache)), error)
            for name, (call, error) in ASYNC_BAD_CALLS.items()
        ),
    ]
    wrong = []
    for name, call, error in calls:
        try:
            call()
        except error:
            continue
        except Exception as exc:
            wrong.append(f"{name}: raised {exc!r}, expected {error.__name__}")
        else:
            wrong.append(f"{name}: returned, expected {error.__name__}")
    assert not wrong, "\n".join(wrong)


def recover(cache: ResilientCacheProvider, server: RedisServer) -> None:
    """Bring the server back and let the next call probe it and replay the invalidations."""
    server.restart()
    settle(cache)


@pytest.mark.parametrize("on_error", ["fallback", "ignore", "raise"])
def test_bad_input_with_redis_up_is_refused_and_changes_nothing(
    redis_process: RedisServer, make_resilient: MakeResilient, on_error: str
) -> None:
    cache = make_resilient(redis_process.url, on_error=on_error, max_value_bytes=1024)
    cache.set_many(STORED)
    prefix = cache.primary.get_stats()["key_prefix"]
    try_every_bad_input(cache)
    assert redis_contents(redis_process, prefix) == STORED
    assert cache.get_many(list(STORED)) == STORED
    assert circuit(cache)["times_opened"] == 0  # misuse is not an outage


@pytest.mark.parametrize("on_error", ["fallback", "ignore", "raise"])
def test_bad_input_with_redis_down_is_refused_and_loses_nothing_on_recovery(
    persistent_server: RedisServer, make_resilient: MakeResilient, on_error: str
) -> None:
    cache = make_resilient(persistent_server.url, on_error=on_error, max_value_bytes=1024)
    cache.set_many(STORED)
    prefix = cache.primary.get_stats()["key_prefix"]
    persistent_server.kill()
    with pytest.raises(CacheUnavailableError) if on_error == "raise" else nullcontext():
        cache.set("opener", 1)  # a failed write opens the circuit at once
    assert circuit(cache)["state"] == "open"
    try_every_bad_input(cache)  # refused exactly as with Redis up, under every policy
    # What the outage did on purpose is replayed; what was refused is not.
    for key in ("a*", "new\nline"):
        with pytest.raises(CacheUnavailableError) if on_error == "raise" else nullcontext():
            cache.delete(key)
    recover(cache, persistent_server)
    survivors = {k: v for k, v in STORED.items() if k not in ("a*", "new\nline")}
    assert redis_contents(persistent_server, prefix) == survivors
    assert cache.get_many(list(STORED)) == survivors


def test_glob_prefix_replayed_clear_touches_no_neighbour(
    persistent_server: RedisServer, make_resilient: MakeResilient
) -> None:
    globby = make_resilient(persistent_server.url, key_prefix="tenant*:")
    neighbour = make_resilient(persistent_server.url, key_prefix="tenant1:")
    globby.set("mine", 1)
    neighbour.set_many({"theirs": 2, "mine": 3})
    persistent_server.kill()
    globby.clear()  # Redis is down: becomes a pending clear of the namespace, replayed on recovery
    assert globby.get_stats()["resilience"]["pending_invalidations"] == "all (clear)"
    recover(globby, persistent_server)
    assert redis_contents(persistent_server, "tenant*:") == {}
    assert redis_contents(persistent_server, "tenant1:") == {"theirs": 2, "mine": 3}


@pytest.mark.parametrize("payload", [b"not ours", b"\x02future-format", b"\x01\xc1", b""])
def test_undecodable_payload_under_the_prefix_is_a_miss_not_an_outage(
    redis_process: RedisServer, make_resilient: MakeResilient, payload: bytes
) -> None:
    cache = make_resilient(redis_process.url)
    prefix = cache.primary.get_stats()["key_prefix"]
    raw = redis_process.client()
    raw.set(prefix + "foreign", payload)
    raw.close()
    cache.set("ours", 1)
    assert cache.get("foreign", "miss") == "miss"
    assert cache.get_many(["foreign", "ours"]) == {"ours": 1}
    assert asyncio.run(cache.get_async("foreign")) is None
    stats = cache.get_stats()
    assert stats["errors_by_kind"] == {"decode": 3}
    assert stats["resilience"]["circuit"]["times_opened"] == 0
    assert stats["resilience"]["degraded_calls"] == 0


def test_a_foreign_redis_type_under_the_prefix_is_an_error_not_an_outage(
    redis_process: RedisServer, make_resilient: MakeResilient
) -> None:
    cache = make_resilient(redis_process.url)  # on_error=fallback: still not hidden
    raw = redis_process.client()
    raw.lpush(cache.primary.get_stats()["key_prefix"] + "a-list", b"x")
    raw.close()
    with pytest.raises(CacheError, match="WRONGTYPE") as raised:
        cache.get("a-list")
    assert not isinstance(raised.value, CacheUnavailableError)
    assert circuit(cache)["times_opened"] == 0
