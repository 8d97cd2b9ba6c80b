"""Resident memory of the memory provider per entry of the realistic value, and its bound.

Measured in a fresh interpreter (``python -m src.benchmarks.footprint``) so that nothing else the
benchmark allocated blurs the figure: resident set size before and after filling a provider with
``entries`` entries (copies, the default), then after writing twice as many keys into it (so
``max_size`` evicts half of them: the footprint must not grow).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from typing import Any

from src.benchmarks.workload import TTL_SECONDS, key_for, make_workload
from src.infrastructure.cache.config.cache_config import MemoryCacheConfig
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider


def measure_footprint(entries: int, value_bytes: int, timeout: float = 300.0) -> dict[str, Any]:
    """Run the measurement in a child interpreter and return its figures."""
    command = [sys.executable, "-m", "src.benchmarks.footprint", str(entries), str(value_bytes)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)  # noqa: S603
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _fill(entries: int, value_bytes: int) -> dict[str, Any]:
    workload = make_workload(value_bytes, key_count=1)
    provider = MemoryCacheProvider(MemoryCacheConfig(max_size=entries))
    gc.collect()
    before = _rss_bytes()
    for number in range(entries):  # each key is built here, as an application builds it: it counts
        provider.set(key_for(number), workload.value, TTL_SECONDS)
    gc.collect()
    filled = _rss_bytes()
    for number in range(entries, 2 * entries):
        provider.set(key_for(number), workload.value, TTL_SECONDS)
    gc.collect()
    after_evictions = _rss_bytes()
    stats = provider.get_stats()
    return {
        "entries": entries,
        "value_bytes": workload.value_bytes,
        "key_chars": len(key_for(0)),
        "bytes_per_entry": (filled - before) / entries,
        "mb_per_100k_entries": (filled - before) / entries * 100_000 / 1e6,
        "rss_growth_mb_after_2x_writes": (after_evictions - filled) / 1e6,
        "size_after_2x_writes": stats["size"],
        "evictions": stats["evictions"],
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(_fill(int(sys.argv[1]), int(sys.argv[2]))))
