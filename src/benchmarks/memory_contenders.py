"""The memory provider against raw cachetools doing the same work by hand.

Two raw baselines per case: ``TTLCache`` (one TTL for the whole cache: the issue's reference, but
it cannot honour a per-entry TTL) and ``TLRUCache`` (per-entry TTL, what the provider is built on:
the same work). With ``serialize_values`` on, the raw work is a lookup under a lock plus the msgpack
encode/decode; with it off, a lookup under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import msgpack
from cachetools import TLRUCache, TTLCache

from src.benchmarks.runner import Contender
from src.benchmarks.workload import TTL_SECONDS, Workload
from src.infrastructure.cache.config.cache_config import MemoryCacheConfig
from src.interfaces.llm.cache import ICacheProvider

#: In-process operations are ~10x faster than a round trip: run that many more per round.
MEMORY_SCALE = 10

_Cache = TTLCache[str, Any] | TLRUCache[str, Any]


def memory_contenders(
    workload: Workload, provider: ICacheProvider, config: MemoryCacheConfig, *, copies: bool
) -> list[Contender]:
    """Get and set cases for ``provider`` (``copies``: it stores msgpack copies) and raw cachetools."""
    label = "memory" if copies else "memory, serialize_values: false"
    max_size = max(config.max_size, len(workload.keys))
    raws: list[tuple[str, str, _Cache]] = [
        ("raw-ttl", "raw cachetools TTLCache + lock", TTLCache(max_size, TTL_SECONDS)),
        ("raw-tlru", "raw cachetools TLRUCache + lock", TLRUCache(max_size, ttu=_expires_at)),
    ]
    contenders: list[Contender] = []
    for operation in ("get", "set"):
        case = f"{label}: {operation}"
        for role, name, cache in raws:
            run = _raw_runner(operation, cache, workload, copies)
            contenders.append(Contender(case, name, role, run, scale=MEMORY_SCALE))
        run = _provider_runner(operation, provider, workload)
        contenders.append(Contender(case, "agent-cache memory provider", "ours", run, scale=MEMORY_SCALE))
    return contenders


def opt_out_config(config: MemoryCacheConfig) -> MemoryCacheConfig:
    """``config`` with ``serialize_values: false`` (values stored by reference)."""
    return replace(config, serialize_values=False)


def _expires_at(_key: str, _value: Any, now: float) -> float:
    return now + TTL_SECONDS


def _raw_runner(operation: str, cache: _Cache, workload: Workload, copies: bool) -> Callable[[int], int]:
    keys, value, count = workload.keys, workload.value, len(workload.keys)
    lock = threading.Lock()
    for key in keys:
        cache[key] = msgpack.packb(value) if copies else value

    def get_copies(ops: int) -> int:
        for i in range(ops):
            with lock:
                payload = cache.get(keys[i % count])
            msgpack.unpackb(payload, strict_map_key=False)
        return ops

    def set_copies(ops: int) -> int:
        for i in range(ops):
            payload = msgpack.packb(value)
            with lock:
                cache[keys[i % count]] = payload
        return ops

    def get_refs(ops: int) -> int:
        for i in range(ops):
            with lock:
                cache.get(keys[i % count])
        return ops

    def set_refs(ops: int) -> int:
        for i in range(ops):
            with lock:
                cache[keys[i % count]] = value
        return ops

    if operation == "get":
        return get_copies if copies else get_refs
    return set_copies if copies else set_refs


def _provider_runner(operation: str, provider: ICacheProvider, workload: Workload) -> Callable[[int], int]:
    keys, value, count = workload.keys, workload.value, len(workload.keys)
    for key in keys:
        provider.set(key, value, TTL_SECONDS)

    def get(ops: int) -> int:
        for i in range(ops):
            provider.get(keys[i % count])
        return ops

    def set_(ops: int) -> int:
        for i in range(ops):
            provider.set(keys[i % count], value, TTL_SECONDS)
        return ops

    return get if operation == "get" else set_
