"""The circuit breaker on its own, on a clock the test moves (no sleeping)."""

from __future__ import annotations

import threading

from src.infrastructure.cache.resilience.circuit_breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, threshold: int = 3, interval: float = 5.0) -> CircuitBreaker:
    return CircuitBreaker(threshold, interval, timer=clock)


def test_opens_after_the_threshold_of_consecutive_failures() -> None:
    cb = breaker(Clock())
    assert [cb.record_failure(), cb.record_failure()] == [False, False]
    cb.record_success()  # the count starts again
    assert [cb.record_failure(), cb.record_failure()] == [False, False]
    assert cb.record_failure() is True
    assert (cb.state, cb.times_opened) == ("open", 1)
    assert cb.record_failure() is False  # already open: not opened again


def test_trip_opens_at_once_and_reports_only_the_transition() -> None:
    clock = Clock()
    cb = breaker(clock)
    assert cb.trip() is True
    assert cb.trip() is False
    assert (cb.last_opened_at, cb.last_closed_at) == (100.0, None)


def test_one_probe_per_interval_and_a_failed_probe_waits_a_whole_interval_again() -> None:
    clock = Clock()
    cb = breaker(clock)
    cb.trip()
    clock.now += 4.9
    assert cb.try_begin_probe() is False
    assert cb.snapshot()["retry_in_seconds"] == 0.1
    clock.now += 0.1
    assert cb.try_begin_probe() is True
    assert cb.state == "half_open"
    assert cb.try_begin_probe() is False  # one prober at a time
    cb.end_probe(recovered=False)
    assert cb.state == "open"
    clock.now += 4.9
    assert cb.try_begin_probe() is False
    clock.now += 0.1
    assert cb.try_begin_probe() is True
    cb.end_probe(recovered=True)
    snapshot = cb.snapshot()
    assert (snapshot["state"], snapshot["consecutive_failures"], snapshot["retry_in_seconds"]) == (
        "closed",
        0,
        0.0,
    )
    assert (snapshot["last_opened_at"], snapshot["last_closed_at"]) == (100.0, 110.0)


def test_exactly_one_of_many_racing_threads_wins_the_probe() -> None:
    clock = Clock()
    cb = breaker(clock)
    cb.trip()
    clock.now += 5
    start = threading.Barrier(16)
    wins: list[bool] = []

    def race() -> None:
        start.wait()
        wins.append(cb.try_begin_probe())

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 15 + [True]
