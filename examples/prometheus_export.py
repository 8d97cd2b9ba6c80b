"""Export agent-cache's metrics to Prometheus: set up OpenTelemetry, build the caches, serve /metrics.

agent-cache talks to the OpenTelemetry API only; the application picks the SDK and the exporter, as
here. Install them next to agent-cache, then run the example and scrape it::

    pip install 'agent-cache[metrics]' opentelemetry-sdk opentelemetry-exporter-prometheus
    python examples/prometheus_export.py --port 9464 [--config configs/global.yaml]
    curl -s http://127.0.0.1:9464/metrics | grep -E '^(agent_cache|db_client|redis_client)'

It runs a small workload on every enabled cache and three requests through the LLM-response cache
(one model call, two hits: ``agent_cache_llm_tokens_saved_total``), then serves until stdin closes
(Ctrl-D); each line
read from stdin (Enter) runs the workload again - stop Redis in between and watch
``agent_cache_fallback_active`` turn to 1, then start it and watch the invalidations replayed.

The order matters: the SDK is configured *before* the container builds its caches, so that each
cache's calls are timed (``agent_cache_operation_duration_seconds``) and redis-py's own command and
connection metrics are turned on. Counters read from ``get_stats()`` are exported either way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import start_http_server

from src.interfaces.llm.cache import ICacheProvider
from src.interfaces.llm.response_cache import ILLMResponseCache
from src.services.container import create_container

#: The workload's keys all start with this; it deletes them first, so every run counts the same.
PREFIX = "example:metrics:"


def configure_prometheus(port: int) -> int:
    """Set the global MeterProvider to export to Prometheus on 127.0.0.1:``port`` (0: any free
    port); returns the port serving ``/metrics``."""
    metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))
    server, _thread = start_http_server(port, addr="127.0.0.1")
    return int(server.server_port)


def workload(cache: ICacheProvider) -> None:
    """What one run does to a cache: 5 sets, 5 hits, 3 misses, 1 delete, one get_or_set that
    computes (and its lookups), one get_many of the 5 keys (4 hits, 1 miss: the deleted one)."""
    keys = [f"{PREFIX}{number}" for number in range(5)]
    cache.delete_many([*keys, f"{PREFIX}computed"])  # a fresh start: reruns count alike
    for number, key in enumerate(keys):
        cache.set(key, {"answer": number})
    for key in keys:
        cache.get(key)
    for number in range(3):
        cache.get(f"{PREFIX}missing:{number}")
    cache.delete(keys[0])
    cache.get_or_set(f"{PREFIX}computed", lambda: {"answer": "computed"})
    cache.get_many(keys)


def wait_until_near_serves(cache: ICacheProvider, timeout: float = 5.0) -> None:
    """If ``cache`` has a near cache, wait (at most ``timeout`` s) until it serves: it starts
    tracking on its first read and serves once Redis confirms, so the first run can be served near."""
    if "near" not in cache.get_stats():
        return
    cache.exists(f"{PREFIX}start")  # starts the invalidation connection; not a lookup
    deadline = time.monotonic() + timeout
    while not cache.get_stats()["near"]["serving"] and time.monotonic() < deadline:
        time.sleep(0.01)


#: The request the LLM workload sends, and the answer its stand-in model gives (with its token usage).
REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "How many incidents are open?"}]}
ANSWER = {
    "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Six."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500},
}


def llm_workload(llm: ILLMResponseCache) -> None:
    """What one run sends through the LLM-response cache: the same request three times - one model
    call, two hits (1200 prompt and 300 completion tokens saved each)."""
    llm.invalidate(REQUEST)  # a fresh start: reruns count alike
    for _ in range(3):
        llm.complete(REQUEST, lambda: ANSWER)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9464, help="Port of /metrics (0: any free port).")
    parser.add_argument("--config", type=Path, default=None, help="agent-cache configuration file.")
    parser.add_argument(
        "--print-stats", action="store_true", help="Print get_stats() as JSON after each run."
    )
    options = parser.parse_args(argv)

    port = configure_prometheus(options.port)  # first: caches built after it are timed
    container = create_container(options.config)
    try:
        resolver = container.resolver()
        caches = {name: resolver.get_named(ICacheProvider, name) for name in resolver.names(ICacheProvider)}
        llm = resolver.get(ILLMResponseCache)
        for cache in caches.values():
            wait_until_near_serves(cache)
        print(f"serving http://127.0.0.1:{port}/metrics for caches {', '.join(caches)}", flush=True)
        run = 0
        while True:
            run += 1
            for cache in caches.values():
                workload(cache)
            llm_workload(llm)
            stats: dict[str, Any] = {name: cache.get_stats() for name, cache in caches.items()}
            stats["llm"] = llm.get_stats()
            print(f"run {run} done", flush=True)
            if options.print_stats:
                print(json.dumps(stats, default=str), flush=True)
            if not sys.stdin.readline():  # end of input: stop; a line: run again
                break
    finally:
        container.shutdown_resources()


if __name__ == "__main__":
    main()
