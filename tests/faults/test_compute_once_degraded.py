"""Compute-once while the failure policy serves from the fallback (issue 11, degraded mode).

With Redis down there is no lease to take, but the in-process flight still holds: 16 threads (and 16
tasks) asking for one missing key make one computation, served from and stored in the fallback.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.faults.conftest import MakeResilient, wait_for_state
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis


def test_threads_compute_once_while_the_fallback_serves(
    redis_process: RedisServer, make_resilient: MakeResilient
) -> None:
    provider = make_resilient(redis_process.url)
    redis_process.kill()
    provider.set("opens-the-circuit", 1)
    wait_for_state(provider, "open", timeout=1)
    calls: list[int] = []
    lock = threading.Lock()

    def model() -> str:
        with lock:
            calls.append(1)
        time.sleep(0.2)
        return "answer"

    answers: list[str] = []
    threads = [
        threading.Thread(target=lambda: answers.append(provider.get_or_set("k", model))) for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert answers == ["answer"] * 16
    assert provider.get("k") == "answer"  # stored in the fallback
    assert provider.get_stats()["resilience"]["circuit"]["state"] == "open"


def test_tasks_compute_once_while_the_fallback_serves(
    redis_process: RedisServer, make_resilient: MakeResilient
) -> None:
    provider = make_resilient(redis_process.url)
    redis_process.kill()
    provider.set("opens-the-circuit", 1)
    wait_for_state(provider, "open", timeout=1)
    calls: list[int] = []

    async def model() -> str:
        calls.append(1)
        await asyncio.sleep(0.2)
        return "answer"

    async def agents() -> list[str]:
        return list(await asyncio.gather(*(provider.get_or_set_async("k", model) for _ in range(16))))

    assert asyncio.run(agents()) == ["answer"] * 16
    assert len(calls) == 1
