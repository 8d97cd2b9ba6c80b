"""Compute-once across real processes sharing one Redis namespace (issue 11).

Each child (``compute_child.py``) builds its own provider, as an agent worker process would, and
asks for the same missing key from 16 threads or 16 tasks at the same moment. Every computation
increments a counter in Redis, outside the cache's prefix: the count is the number of model calls
the whole fleet made. Runs on a standalone server, the same behind the failure policy, a Redis
Cluster and a Sentinel setup.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unique_prefix
from tests.redis_servers import RedisEndpoint
from tests.topology.cluster import RedisClusterTopology
from tests.topology.sentinel import DATA_PASSWORD, SENTINEL_PASSWORD, SERVICE_NAME, RedisSentinelTopology

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
#: Seconds for the children to start (imports on a busy 2-core machine) before they all ask.
START_DELAY = 3.0
LEASE = 1.0


@pytest.fixture(params=["redis", "resilient_redis", "redis_cluster", "redis_sentinel"])
def shared(request: pytest.FixtureRequest, redis_endpoint: RedisEndpoint) -> dict[str, Any]:
    """The settings every child builds its provider from (JSON), under a fresh prefix."""
    spec: dict[str, Any] = {"config": {"enabled": True, "key_prefix": unique_prefix(), "default_ttl": 60}}
    if request.param in ("redis", "resilient_redis"):
        spec["config"]["url"] = redis_endpoint.url
        spec["wrapped"] = request.param == "resilient_redis"
    elif request.param == "redis_cluster":
        cluster: RedisClusterTopology = request.getfixturevalue("redis_cluster")
        spec["config"].update(mode="cluster", startup_nodes=list(cluster.startup_nodes))
    else:
        sentinel: RedisSentinelTopology = request.getfixturevalue("redis_sentinel")
        spec["config"].update(
            mode="sentinel",
            sentinels=list(sentinel.sentinel_addresses),
            service_name=SERVICE_NAME,
            password=DATA_PASSWORD,
            sentinel_password=SENTINEL_PASSWORD,
        )
    return spec


@pytest.fixture
def counter(redis_endpoint: RedisEndpoint) -> Iterator[tuple[str, str]]:
    """``(url, key)`` of the model-call counter; deleted afterwards."""
    key = f"test:model-calls:{uuid.uuid4().hex}"
    yield redis_endpoint.url, key
    client = redis_endpoint.client()
    client.delete(key)
    client.close()


def _spawn(spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.processes.compute_child", json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _wait_for(process: subprocess.Popen[str], field: str, timeout: float = 30.0) -> dict[str, Any]:
    """Read the child's JSON lines until one holds ``field``."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        message: dict[str, Any] = json.loads(line)
        if field in message:
            return message
    assert process.stderr is not None
    process.kill()
    raise AssertionError(f"child never said {field!r}: {process.stderr.read()[-2000:]}")


def _model_calls(counter: tuple[str, str], endpoint: RedisEndpoint) -> int:
    client = endpoint.client()
    try:
        return int(client.get(counter[1]) or 0)
    finally:
        client.close()


@pytest.mark.parametrize("workers", ["threads", "tasks"])
def test_four_processes_of_sixteen_workers_compute_once(
    shared: dict[str, Any], counter: tuple[str, str], redis_endpoint: RedisEndpoint, workers: str
) -> None:
    start_at = time.time() + START_DELAY
    children = [
        _spawn(
            {
                **shared,
                "name": f"process-{index}",
                "key": "prompt",
                "workers": 16,
                "colour": workers,
                "compute_seconds": 0.5,
                "start_at": start_at,
                "counter_url": counter[0],
                "counter": counter[1],
            }
        )
        for index in range(4)
    ]
    results = [_wait_for(child, "answers") for child in children]
    for child in children:
        assert child.wait(timeout=30) == 0
    answers = [answer for result in results for answer in result["answers"]]
    assert _model_calls(counter, redis_endpoint) == 1
    assert len(answers) == 64
    assert len(set(answers)) == 1  # every worker of every process got the one computed value
    waits = sum(result["stats"]["lock_waits"] for result in results)
    assert waits >= 3  # the other processes waited for the lease holder rather than computing


def test_a_holder_killed_mid_compute_delays_the_others_at_most_the_lease_time(
    shared: dict[str, Any], counter: tuple[str, str], redis_endpoint: RedisEndpoint
) -> None:
    common = {
        **shared,
        "key": "prompt",
        "workers": 1,
        "colour": "threads",
        "counter_url": counter[0],
        "counter": counter[1],
        "options": {"lease_ttl": LEASE},
    }
    holder = _spawn({**common, "name": "holder", "compute_seconds": 60, "start_at": 0})
    _wait_for(holder, "computing")
    time.sleep(LEASE)  # the holder renews its lease meanwhile: it must still hold it
    waiter = _spawn({**common, "name": "waiter", "compute_seconds": 0, "start_at": 0})
    _wait_for(waiter, "asking")
    time.sleep(0.3)  # the waiter is polling the holder's lease
    assert _model_calls(counter, redis_endpoint) == 1
    killed_at = time.time()
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    result = _wait_for(waiter, "answers")
    assert waiter.wait(timeout=30) == 0
    assert result["answers"] == ["answer from waiter"]
    assert result["answered_at"] - killed_at < LEASE + 1.0
    assert _model_calls(counter, redis_endpoint) == 2


def test_across_processes_one_caller_refreshes_a_stale_entry_and_the_others_get_it_stale(
    shared: dict[str, Any], counter: tuple[str, str], redis_endpoint: RedisEndpoint
) -> None:
    options = {"stale_ttl": 30, "stale_while_revalidate": True}
    seed = _spawn(
        {
            **shared,
            "name": "seed",
            "key": "prompt",
            "workers": 1,
            "colour": "threads",
            "compute_seconds": 0,
            "start_at": 0,
            "counter_url": counter[0],
            "counter": counter[1],
            "options": {**options, "ttl": 0.5},
        }
    )
    assert _wait_for(seed, "answers")["answers"] == ["answer from seed"]
    assert seed.wait(timeout=30) == 0
    time.sleep(0.7)  # the seeded entry is stale now, and kept for stale serving
    start_at = time.time() + START_DELAY
    children = [
        _spawn(
            {
                **shared,
                "name": f"process-{index}",
                "key": "prompt",
                "workers": 4,
                "colour": "threads",
                "compute_seconds": 1.0,
                "start_at": start_at,
                "counter_url": counter[0],
                "counter": counter[1],
                "options": options,
            }
        )
        for index in range(4)
    ]
    results = [_wait_for(child, "answers") for child in children]
    for child in children:
        assert child.wait(timeout=30) == 0
    answers = [answer for result in results for answer in result["answers"]]
    assert _model_calls(counter, redis_endpoint) == 2  # the seed, and one refresh
    assert answers.count("answer from seed") == 15  # served stale, at once
    [refreshed] = [answer for answer in answers if answer != "answer from seed"]
    assert refreshed.startswith("answer from process-")
