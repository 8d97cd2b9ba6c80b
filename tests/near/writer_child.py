"""A second process writing to a cache another process reads through its near cache.

Run as ``python -m tests.near.writer_child '<json of RedisCacheConfig fields>'``. It builds the
cache as services do (no near cache of its own), says ``{"ready": true}``, then takes one JSON
command per line on stdin - ``{"op": "set", "key": k, "value": v}``, ``{"op": "delete", "key": k}``,
``{"op": "clear"}`` - and answers each with ``{"done": <time.monotonic() when the call returned>}``.
``CLOCK_MONOTONIC`` is one clock for every process of the machine, so the reader can tell how long
after the write returned it first read the new value. An empty line ends it.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from src.infrastructure.cache.config.cache_config import CacheConfig, MemoryCacheConfig, RedisCacheConfig
from src.services.container.bindings.cache_bindings import resilient_redis_provider


def main(settings: dict[str, Any]) -> None:
    config = RedisCacheConfig(**settings)
    cache = resilient_redis_provider(
        CacheConfig(default_provider="redis", providers={"redis": config, "memory": MemoryCacheConfig()})
    )
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        command = json.loads(line)
        if command["op"] == "set":
            cache.set(command["key"], command["value"])
        elif command["op"] == "delete":
            cache.delete(command["key"])
        else:
            cache.clear()
        print(json.dumps({"done": time.monotonic()}), flush=True)
    cache.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
