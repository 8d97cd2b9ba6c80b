"""What compute-once and namespaces cost on the hot path, against the same cache's plain calls.

Four cases per cache (the Redis cache as services get it, and the memory cache), each comparing the
feature with the plain call it is made of, on the same keys (issues 11 and 12):

* ``get_or_set hit (sync)`` / ``get_or_set_async hit, 1 task``: ``get_or_set`` finding the value,
  against ``get`` (target: at most 1.05x its time);
* ``namespace get (sync)`` / ``namespace set (sync)``: a read or write in a namespace three deep
  (tenant, agent, session), against the same in the cache itself (target: at most 1.10x).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from src.benchmarks.async_contenders import driver
from src.benchmarks.runner import Contender
from src.benchmarks.workload import TTL_SECONDS, Workload, each_key
from src.interfaces.llm.cache import ICacheProvider

#: What each role of these cases stands for (the legend of the ratios, in ``ratios.ROLES``).
COMPUTE_ROLES = {
    "direct": "the same cache's own get / set / get_async (the reference)",
    "compute-once": "get_or_set / get_or_set_async finding the value (a hit)",
    "namespace": "a namespace three deep (tenant, agent, session) of the same cache",
}
#: The case names of one cache (``redis`` or ``memory``) and the target of each.
CASES = {
    "get_or_set hit (sync)": ("compute-once", 1.05),
    "get_or_set_async hit, 1 task": ("compute-once", 1.05),
    "namespace get (sync)": ("namespace", 1.10),
    "namespace set (sync)": ("namespace", 1.10),
}


def compute_contenders(
    label: str, cache: ICacheProvider, workload: Workload, runner: asyncio.Runner, *, scale: int = 1
) -> list[Contender]:
    """The cases of ``label`` over ``cache``; its keys (and the namespace's) are filled here."""
    session = cache.namespace("tenant:bench").namespace("agent:1").namespace("session:1")
    values = dict.fromkeys(workload.keys, workload.value)
    cache.set_many(values, TTL_SECONDS)
    session.set_many(values, TTL_SECONDS)
    value, never = workload.value, _compute_never

    def get_or_set(key: str) -> Any:
        return cache.get_or_set(key, never)

    def get_or_set_async(key: str) -> Awaitable[Any]:
        return cache.get_or_set_async(key, never)

    def set_plain(key: str) -> None:
        cache.set(key, value, TTL_SECONDS)

    def set_in_session(key: str) -> None:
        session.set(key, value, TTL_SECONDS)

    cases: list[tuple[str, str, Callable[[int], int]]] = [
        ("get_or_set hit (sync)", "direct", each_key(workload.keys, cache.get)),
        ("get_or_set hit (sync)", "compute-once", each_key(workload.keys, get_or_set)),
        ("get_or_set_async hit, 1 task", "direct", driver(runner, cache.get_async, workload, 1)),
        ("get_or_set_async hit, 1 task", "compute-once", driver(runner, get_or_set_async, workload, 1)),
        ("namespace get (sync)", "direct", each_key(workload.keys, cache.get)),
        ("namespace get (sync)", "namespace", each_key(workload.keys, session.get)),
        ("namespace set (sync)", "direct", each_key(workload.keys, set_plain)),
        ("namespace set (sync)", "namespace", each_key(workload.keys, set_in_session)),
    ]
    return [
        Contender(f"{label} {case}", f"{label}: {COMPUTE_ROLES[role].split(' (')[0]}", role, run, scale)
        for case, role, run in cases
    ]


def _compute_never() -> Any:
    raise AssertionError("the benchmark's keys are all present: get_or_set must not compute")
