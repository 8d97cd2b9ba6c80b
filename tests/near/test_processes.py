"""Another process's writes through a near cache: never served once their invalidation has arrived.

A writer process (``writer_child.py``) sets, deletes and clears; this process reads the key through
its near cache in a tight loop after each command. Before each read it notes whether the near
cache has processed an invalidation since the command was sent (``get_stats()["near"]
["invalidations"]``): once it has, a read returning the old value is a stale read, and fails the
test. The loop also measures how long after the writer's call returned this process first read the
new value - the window in which it may still see the old one - and prints p50/p99 (run with ``-s``
to see them). Both protocols, sync and async readers.

The reader pauses 100 µs between reads, as a service does between requests: a thread that spins on
near hits without ever releasing the GIL keeps the listener thread from running for up to a few of
Python's switch intervals (5 ms each by default): ~10-20 ms measured. docs/near-cache.md says so.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from src.interfaces.llm.cache import ICacheProvider
from tests.conftest import unique_prefix
from tests.near.conftest import MakeNear, near, wait_for
from tests.redis_servers import RedisEndpoint

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 150
#: A loose bound on the delay (seconds): it is ~0.1-0.3 ms on loopback; this catches a lost invalidation.
MOST_DELAY = 0.5
#: Seconds between two reads of the reader (see the module's docstring).
PACE = 0.0001


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
def writer(redis_endpoint: RedisEndpoint, prefix: str) -> Iterator[subprocess.Popen[str]]:
    settings = {"enabled": True, "url": redis_endpoint.url, "key_prefix": prefix, "default_ttl": 60}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.near.writer_child", json.dumps(settings)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert _reply(child).get("ready"), "the writer did not start"
    yield child
    assert child.stdin is not None
    child.stdin.write("\n")
    child.stdin.flush()
    child.wait(timeout=10)


def _reply(child: subprocess.Popen[str]) -> dict[str, Any]:
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        assert child.stderr is not None
        raise AssertionError(f"the writer died: {child.stderr.read()[-2000:]}")
    reply: dict[str, Any] = json.loads(line)
    return reply


def _command(round_number: int) -> tuple[dict[str, Any], Any]:
    """The writer's command of a round, and the value the key has after it."""
    if round_number % 10 == 9:
        return {"op": "clear"}, None
    if round_number % 5 == 4:
        return {"op": "delete", "key": "k"}, None
    value = {"round": round_number}
    return {"op": "set", "key": "k", "value": value}, value


def _counted(reader: ICacheProvider, invalidations: int) -> bool:
    return bool(near(reader)["invalidations"] >= invalidations)


def _first_fresh_read(reader: ICacheProvider, before: int, old: Any, new: Any) -> float:
    """Read ``k`` until it is ``new``; fail on ``old`` once an invalidation arrived. Returns when."""
    deadline = time.monotonic() + MOST_DELAY
    while True:
        arrived = near(reader)["invalidations"] > before  # noted *before* the read
        value = reader.get("k")
        if value == new:
            return time.monotonic()
        assert value == old, f"read {value!r}, neither the old {old!r} nor the new {new!r}"
        assert not arrived, f"stale read: {old!r} served after the invalidation of the change arrived"
        assert time.monotonic() < deadline, f"the change to {new!r} was not seen within {MOST_DELAY} s"
        time.sleep(PACE)


def test_a_change_made_elsewhere_is_never_served_stale_once_invalidated(
    *,
    make_near: MakeNear,
    redis_endpoint: RedisEndpoint,
    prefix: str,
    writer: subprocess.Popen[str],
    protocol: int,
    near_colour: str,
) -> None:
    reader = make_near(redis_endpoint.url, key_prefix=prefix)
    assert writer.stdin is not None
    delays: list[float] = []
    old: Any = None
    for round_number in range(ROUNDS):
        command, new = _command(round_number)
        # Every command changes the one key once: one invalidation each. Wait for the previous
        # ones, so that the next one counted is this round's (a late one would drop the entry
        # the reads below put back, and look like this round's).
        wait_for(partial(_counted, reader, round_number), 1.0, "the earlier invalidations")
        held = old is not None
        if held:
            assert reader.get("k") == reader.get("k") == old  # the second read is a near hit
        before = near(reader)["invalidations"]
        writer.stdin.write(json.dumps(command) + "\n")
        writer.stdin.flush()
        seen = _first_fresh_read(reader, before, old, new)
        done = _reply(writer)["done"]
        if held:  # a change to a value this process held near: its invalidation decides
            delays.append(seen - done)
        old = new
    stats = near(reader)
    assert stats["hits"] >= len(delays)
    assert stats["flushes"] == 0
    quantiles = statistics.quantiles(delays, n=100)
    print(
        f"\nnear cache, resp{protocol}, {near_colour} reader: a change made by another process was first "
        f"read {quantiles[49] * 1e6:.0f} µs (p50), {quantiles[98] * 1e6:.0f} µs (p99), "
        f"{max(delays) * 1e6:.0f} µs (max) after the writer's call returned ({len(delays)} changes: "
        "set, delete, clear)"
    )
