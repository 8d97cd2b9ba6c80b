"""Outages under load: Redis paused (SIGSTOP), or killed (SIGKILL) and restarted with its old data.

Four threads and eight asyncio tasks keep calling the wrapped provider through the whole outage and
recovery, each on its own keys, deleting and overwriting them while Redis is away. Asserted: with
fallback and ignore no caller ever sees an exception; with raise only CacheUnavailableError; no call
takes longer than its timeouts allow; no read, during or after, returns a value older than the last
acknowledged write (or one that was deleted), neither through the cache nor in Redis itself; the
circuit closes within ``open_interval`` + 1 s of Redis answering again; the switch is logged once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

from src.infrastructure.cache import serialization
from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from src.interfaces.llm.cache import CacheUnavailableError
from tests.faults.conftest import (
    CALL_BOUND,
    OPEN_INTERVAL,
    SLACK,
    MakeResilient,
    circuit,
    settle,
    wait_for_state,
)
from tests.faults.load import Load
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis

RESILIENCE_LOGGER = "src.infrastructure.cache.resilience"
#: How long Redis stays away: long enough for the circuit to open and a probe or two to fail.
OUTAGE = 1.0


def pause_outage(server: RedisServer) -> Callable[[], float]:
    """Freeze the server now; the returned function unfreezes it and says when it answered again."""
    server.pause()

    def end() -> float:
        answering = time.monotonic()
        server.resume()
        return answering

    return end


def crash_outage(server: RedisServer) -> Callable[[], float]:
    """Kill the server now; the returned function restarts it (data reloaded from its AOF)."""
    server.kill()

    def end() -> float:
        # From the moment the restart is issued (Redis answers some 20 ms later): restart() returns
        # only after its own PING, by which time a probe may already have closed the circuit.
        issued = time.monotonic()
        server.restart()
        return issued

    return end


def run_outage(
    cache: ResilientCacheProvider,
    start_outage: Callable[[], Callable[[], float]],
    outages: int = 1,
    **load_options: object,
) -> tuple[Load, float]:
    """Load before, during and after each outage; returns the load and the longest recovery time."""
    recoveries = []
    with Load(cache, bound=CALL_BOUND + SLACK, **load_options) as load:  # type: ignore[arg-type]
        time.sleep(0.4)  # values reach Redis first, so the outage has something to make stale
        for _ in range(outages):
            end_outage = start_outage()
            wait_for_state(cache, "open", CALL_BOUND + SLACK + 0.5)
            time.sleep(OUTAGE)
            answering = end_outage()
            wait_for_state(cache, "closed", OPEN_INTERVAL + 1 + CALL_BOUND)
            recoveries.append(circuit(cache)["last_closed_at"] - answering)
            time.sleep(0.4)  # traffic back on Redis, reading what the outage left there
    return load, max(recoveries)


def summary(load: Load, recovery: float) -> str:
    """The measured numbers, printed for ``pytest -s`` (and quoted in docs/operations.md, "Measured")."""
    report = load.report
    return (
        f"recovery {recovery:.3f}s after Redis answered; {report.calls} calls, "
        f"{report.failed_calls} failed; slowest call {report.max_call_seconds:.3f}s, "
        f"slowest failing call {report.max_failed_call_seconds:.3f}s"
    )


def assert_clean(load: Load) -> None:
    report = load.report
    assert report.hung_workers == 0
    assert report.unexpected == [], report.unexpected[:5]
    assert report.stale == [], report.stale[:5]
    assert report.slow == [], report.slow[:5]
    assert report.calls > 1000


def assert_nothing_stale_in_redis(cache: ResilientCacheProvider, server: RedisServer, load: Load) -> None:
    """After recovery, each key in Redis and through the cache holds its last version, or nothing."""
    settle(cache)
    raw = server.client()
    try:
        for worker in load.sync_workers + load.async_workers:
            for key in worker.keys:
                if key in worker.uncertain:
                    continue
                expected = worker.truth.get(key)
                payload = raw.get(cache.primary.get_stats()["key_prefix"] + key)
                for value in (cache.get(key), serialization.loads(payload) if payload else None):
                    assert value is None or value == {"k": key, "v": expected}, (key, value, expected)
    finally:
        raw.close()


@pytest.mark.parametrize("on_error", ["fallback", "ignore"])
@pytest.mark.parametrize("outage", [pause_outage, crash_outage], ids=["pause", "kill-restart"])
def test_callers_never_see_the_outage_and_nothing_stale_survives_it(
    persistent_server: RedisServer,
    make_resilient: MakeResilient,
    caplog: pytest.LogCaptureFixture,
    on_error: str,
    outage: Callable[[RedisServer], Callable[[], float]],
) -> None:
    cache = make_resilient(persistent_server.url, on_error=on_error)
    with caplog.at_level(logging.WARNING, logger=RESILIENCE_LOGGER):
        load, recovery = run_outage(cache, lambda: outage(persistent_server))
    print(f"{outage.__name__} on_error={on_error}: {summary(load, recovery)}")
    assert_clean(load)
    assert load.report.failed_calls == 0
    assert 0 <= recovery <= OPEN_INTERVAL + 1, recovery
    assert_nothing_stale_in_redis(cache, persistent_server, load)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings  # one "unavailable", one "available again": not one per call
    assert "unavailable" in warnings[0]
    assert "available again" in warnings[1]
    stats = cache.get_stats()
    assert stats["resilience"]["degraded_calls"] > 0
    assert stats["resilience"]["invalidations_replayed"] > 0
    assert stats["resilience"]["circuit"]["times_opened"] == 1


@pytest.mark.parametrize("outage", [pause_outage, crash_outage], ids=["pause", "kill-restart"])
def test_raise_policy_fails_fast_and_only_with_unavailable(
    persistent_server: RedisServer,
    make_resilient: MakeResilient,
    outage: Callable[[RedisServer], Callable[[], float]],
) -> None:
    cache = make_resilient(persistent_server.url, on_error="raise")
    load, recovery = run_outage(cache, lambda: outage(persistent_server), allowed=(CacheUnavailableError,))
    print(f"{outage.__name__} on_error=raise: {summary(load, recovery)}")
    assert_clean(load)  # every failure was CacheUnavailableError, none slower than CALL_BOUND + SLACK
    assert load.report.failed_calls > 0
    assert load.report.max_failed_call_seconds <= CALL_BOUND + SLACK
    assert 0 <= recovery <= OPEN_INTERVAL + 1, recovery
    assert_nothing_stale_in_redis(cache, persistent_server, load)


def test_a_second_outage_serves_nothing_from_the_first(
    redis_process: RedisServer, make_resilient: MakeResilient, caplog: pytest.LogCaptureFixture
) -> None:
    """What the fallback held in the first outage is gone before the second: the keys moved on in
    Redis in between, so serving it then would be serving stale values."""
    cache = make_resilient(redis_process.url)
    with caplog.at_level(logging.WARNING, logger=RESILIENCE_LOGGER):
        load, recovery = run_outage(cache, lambda: pause_outage(redis_process), outages=2)
    print(f"two pauses on_error=fallback: {summary(load, recovery)}")
    assert_clean(load)
    assert load.report.failed_calls == 0
    assert 0 <= recovery <= OPEN_INTERVAL + 1, recovery
    assert_nothing_stale_in_redis(cache, redis_process, load)
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 4
    assert circuit(cache)["times_opened"] == 2
