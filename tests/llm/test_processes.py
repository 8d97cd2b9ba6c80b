"""The LLM cache across real processes sharing one Redis namespace: four worker processes of eight
threads or tasks each ask one request at the same moment, and the fleet makes one model call.

Each child (``llm_child.py``) builds its own provider and LLM cache, as an agent worker process
would. Every model call increments a counter in Redis, outside the cache's prefix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unique_prefix
from tests.llm.builders import chunks_for, response_for
from tests.redis_servers import RedisEndpoint

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
#: Seconds for the children to start (imports on a busy 2-core machine) before they all ask.
START_DELAY = 3.0
PROCESSES, WORKERS = 4, 8


@pytest.fixture
def counter(redis_endpoint: RedisEndpoint) -> Iterator[str]:
    """The key of the model-call counter; deleted afterwards."""
    key = f"test:llm-model-calls:{uuid.uuid4().hex}"
    yield key
    client = redis_endpoint.client()
    client.delete(key)
    client.close()


def _run_children(spec: dict[str, Any]) -> list[dict[str, Any]]:
    start_at = time.time() + START_DELAY
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.llm.llm_child",
                json.dumps({**spec, "name": f"p{i}", "start_at": start_at}),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for i in range(PROCESSES)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


# Each mode, colour and provider twice, in four runs of ~5 s rather than eight.
CASES = [
    ("complete", "threads", False),
    ("complete", "tasks", True),
    ("stream", "threads", True),
    ("stream", "tasks", False),
]


@pytest.mark.parametrize(
    ("mode", "workers", "wrapped"),
    CASES,
    ids=[f"{mode}-{workers}-{'resilient_redis' if wrapped else 'redis'}" for mode, workers, wrapped in CASES],
)
def test_four_processes_asking_at_once_make_one_model_call(
    redis_endpoint: RedisEndpoint, counter: str, mode: str, workers: str, wrapped: bool
) -> None:
    config = {"enabled": True, "url": redis_endpoint.url, "key_prefix": unique_prefix(), "default_ttl": 60}
    spec = {
        "config": config,
        "wrapped": wrapped,
        "mode": mode,
        "colour": workers,
        "workers": WORKERS,
        "model_seconds": 1.0,
        "counter_url": redis_endpoint.url,
        "counter": counter,
    }
    try:
        results = _run_children(spec)
    finally:
        client = redis_endpoint.client()
        calls = int(client.get(counter) or 0)
        for key in client.scan_iter(match=f"{config['key_prefix']}*"):
            client.delete(key)
        client.close()

    assert calls == 1
    answers = [answer for result in results for answer in result["answers"]]
    assert len(answers) == PROCESSES * WORKERS
    assert all(answer == answers[0] for answer in answers)
    first = next(i for i in range(PROCESSES) if f"p{i}" in json.dumps(answers[0]))
    assert answers[0] in (response_for(f"answer from p{first}"), chunks_for(f"answer from p{first}"))
    assert sum(result["stats"]["misses"] for result in results) == 1
    assert sum(result["stats"]["hits"] for result in results) == PROCESSES * WORKERS - 1
