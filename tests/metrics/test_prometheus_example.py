"""``examples/prometheus_export.py`` run as a user runs it, scraped over HTTP after each workload.

The example configures the OpenTelemetry SDK with the Prometheus exporter, builds a memory cache,
two Redis caches (one with a near cache) and the LLM-response cache from YAML and runs a known
workload on each. The test scrapes ``/metrics`` and finds every documented metric with the value
the workload implies (exactly, on the memory cache) and with the value of the example's own
``get_stats()``; then it kills Redis (the fallback serves the second run) and restarts it (the
third run replays the invalidations), scraping after each.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from src.infrastructure.cache.metrics.names import ALL, prometheus_name
from tests.conftest import unique_prefix
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis

EXAMPLE = Path(__file__).parents[2] / "examples" / "prometheus_export.py"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Example:
    """The example's process: its output lines, its stdin, and a scrape of its ``/metrics``."""

    def __init__(self, config: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--port", "0", "--config", str(config), "--print-stats"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self.line()
        assert first.startswith("serving http://127.0.0.1:"), first
        self.url = first.split()[1]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))

    def line(self, timeout: float = 30.0) -> str:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"the example said nothing for {timeout} s; stderr: {self.stderr()}"
            ) from None

    def stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def finished_run(self, number: int) -> dict[str, Any]:
        """Wait for run ``number``; its ``get_stats()`` of every cache."""
        assert self.line() == f"run {number} done"
        stats: dict[str, Any] = json.loads(self.line())
        return stats

    def run_again(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def scrape(self) -> Samples:
        """Every sample of ``/metrics``, labels without the instrumentation scope's. An empty label is
        no label, for Prometheus: the exporter gives every series of a metric the labels of all."""
        with urllib.request.urlopen(self.url, timeout=10) as response:
            text = response.read().decode()
        samples: Samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = frozenset(
                    (k, v) for k, v in sample.labels.items() if v and not k.startswith("otel_scope")
                )
                samples[(sample.name, labels)] = sample.value
        return samples

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # end of input: the example shuts its container down and exits
            self.process.wait(timeout=30)
        assert self.process.returncode == 0, self.stderr()


def value(samples: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    assert key in samples, (
        f"{name}{labels} not scraped; {name} has {[dict(k[1]) for k in samples if k[0] == name]}"
    )
    return samples[key]


def scraped_names(samples: Samples) -> set[str]:
    return {name for name, _labels in samples}


@pytest.fixture
def example(tmp_path: Path, redis_process: RedisServer) -> Iterator[Example]:
    config = tmp_path / "metrics.yaml"
    config.write_text(
        f"""
cache:
  providers:
    memory: {{}}
    redis:
      enabled: true
      url: {redis_process.url}
      key_prefix: "{unique_prefix()}"
      socket_timeout: 0.2
      socket_connect_timeout: 0.2
      circuit_breaker:
        open_interval: 0.3
    sessions:
      type: redis
      enabled: true
      url: {redis_process.url}
      key_prefix: "{unique_prefix()}"
      socket_timeout: 0.2
      socket_connect_timeout: 0.2
      circuit_breaker:
        open_interval: 0.3
      near_cache:
        enabled: true
    llm_responses:
      type: memory
  llm:
    cache: llm_responses
    prices:
      gpt-4o: {{prompt_per_1m: 2.5, completion_per_1m: 10}}
""",
        encoding="utf-8",
    )
    running = Example(config)
    try:
        yield running
    finally:
        running.stop()


def assert_counters_equal_stats(samples: Samples, cache: str, stats: Mapping[str, Any]) -> None:
    """The observed counters of ``cache`` are its ``get_stats()`` (the example's, after the run)."""
    assert value(samples, "agent_cache_requests_total", cache_name=cache, cache_result="hit") == stats["hits"]
    assert (
        value(samples, "agent_cache_requests_total", cache_name=cache, cache_result="miss") == stats["misses"]
    )
    for kind, count in stats["errors_by_kind"].items():
        error = {"cache_result": "error", "error_type": kind}
        assert value(samples, "agent_cache_requests_total", cache_name=cache, **error) == count
    for counter in ("sets", "deletes", "evictions", "expirations"):
        assert value(samples, f"agent_cache_{counter}_total", cache_name=cache) == stats[counter]
    compute = stats["compute"]
    computations = "agent_cache_compute_computations_total"
    assert value(samples, computations, cache_name=cache, cache_result="ok") == compute["computes"]
    assert value(samples, computations, cache_name=cache, cache_result="error") == compute["compute_errors"]
    for counter in ("lock_waits", "lock_timeouts", "early_refreshes"):
        assert value(samples, f"agent_cache_compute_{counter}_total", cache_name=cache) == compute[counter]


def test_every_documented_metric_is_scraped_with_the_workloads_values(example: Example) -> None:
    stats = example.finished_run(1)
    samples = example.scrape()

    found = scraped_names(samples)
    for spec in ALL:
        name = prometheus_name(spec)
        suffix = "_count" if spec.instrument == "histogram" else ""
        assert f"{name}{suffix}" in found, f"{spec.name} (documented) not scraped as {name}"

    # The memory cache, exactly as the workload implies (see its docstring).
    memory = {"cache_name": "memory"}
    assert value(samples, "agent_cache_requests_total", **memory, cache_result="hit") == 9
    assert value(samples, "agent_cache_requests_total", **memory, cache_result="miss") == 5
    assert value(samples, "agent_cache_requests_total", **memory, cache_result="stale") == 0
    assert value(samples, "agent_cache_sets_total", **memory) == 6
    assert value(samples, "agent_cache_deletes_total", **memory) == 1
    assert value(samples, "agent_cache_entries", **memory) == 5
    assert value(samples, "agent_cache_compute_computations_total", **memory, cache_result="ok") == 1
    durations = {"set": 6, "get": 9, "exists": 1, "delete": 1, "delete_many": 1, "get_or_set": 1}
    durations["get_many"] = 1
    for operation, count in durations.items():
        timed = value(
            samples, "agent_cache_operation_duration_seconds_count", **memory, cache_operation=operation
        )
        assert timed == count, operation
    assert_counters_equal_stats(samples, "memory", stats["memory"])

    # The LLM-response cache over llm_responses: one model call, two hits of 1200 + 300 tokens.
    llm = {"cache_name": "llm_responses", "gen_ai_request_model": "gpt-4o"}
    assert value(samples, "agent_cache_llm_requests_total", **llm, cache_result="hit") == 2
    assert value(samples, "agent_cache_llm_requests_total", **llm, cache_result="miss") == 1
    assert value(samples, "agent_cache_llm_tokens_saved_total", **llm, gen_ai_token_type="input") == 2400
    assert value(samples, "agent_cache_llm_tokens_saved_total", **llm, gen_ai_token_type="output") == 600
    assert value(samples, "agent_cache_llm_cost_saved_total", **llm) == pytest.approx(2 * 0.006)
    assert (
        value(samples, "agent_cache_llm_time_saved_seconds_total", **llm)
        == stats["llm"]["saved"]["model_seconds"]
    )
    assert_counters_equal_stats(samples, "llm_responses", stats["llm_responses"])

    # The Redis cache: its counters are its get_stats(); healthy, so its failure policy is idle.
    assert_counters_equal_stats(samples, "redis", stats["redis"])
    redis = {"cache_name": "redis"}
    assert value(samples, "agent_cache_fallback_active", **redis, cache_on_error="fallback") == 0
    assert value(samples, "agent_cache_circuit_openings_total", **redis) == 0
    assert value(samples, "agent_cache_fallback_calls_total", **redis) == 0
    assert value(samples, "agent_cache_invalidations_replayed_total", **redis) == 0
    assert (
        value(samples, "agent_cache_operation_duration_seconds_count", **redis, cache_operation="get_or_set")
        == 1
    )

    # The Redis cache with a near cache: its near counters are its get_stats()["near"]. Echoes of its
    # own writes may still arrive after the run: they add invalidations and drop entries, never more.
    assert_counters_equal_stats(samples, "sessions", stats["sessions"])
    sessions, near = {"cache_name": "sessions"}, stats["sessions"]["near"]
    assert near["serving"]
    for result, count in (("hit", near["hits"]), ("miss", near["misses"])):
        assert value(samples, "agent_cache_near_requests_total", **sessions, cache_result=result) == count
    assert near["misses"] > 0
    assert value(samples, "agent_cache_near_flushes_total", **sessions) == near["flushes"] == 0
    assert value(samples, "agent_cache_near_invalidations_total", **sessions) >= near["invalidations"] >= 5
    assert 0 <= value(samples, "agent_cache_near_entries", **sessions) <= near["size"]

    # redis-py's own metrics, turned on because an SDK was configured before the caches were built.
    command = "db_client_operation_duration_seconds_count"
    gets = [
        v
        for (name, labels), v in samples.items()
        if name == command and ("db_operation_name", "GET") in labels
    ]
    assert sum(gets) >= 9
    assert "db_client_connection_create_time_seconds_count" in found


def test_an_outage_then_recovery_as_scraped(example: Example, redis_process: RedisServer) -> None:
    example.finished_run(1)

    redis_process.kill()
    example.run_again()
    stats = example.finished_run(2)["redis"]
    during = example.scrape()

    redis = {"cache_name": "redis"}
    assert value(during, "agent_cache_fallback_active", **redis, cache_on_error="fallback") == 1
    assert value(during, "agent_cache_circuit_openings_total", **redis) == 1
    degraded = stats["resilience"]["degraded_calls"]
    assert value(during, "agent_cache_fallback_calls_total", **redis) == degraded > 0
    fallback = stats["fallback"]
    assert (
        value(during, "agent_cache_fallback_requests_total", **redis, cache_result="hit")
        == fallback["hits"]
        > 0
    )
    assert (
        value(during, "agent_cache_fallback_requests_total", **redis, cache_result="miss")
        == fallback["misses"]
    )
    assert_counters_equal_stats(during, "redis", stats)
    assert sum(stats["errors_by_kind"].values()) >= 1

    redis_process.restart()
    time.sleep(0.4)  # past open_interval: the third run's first call probes and replays
    example.run_again()
    stats = example.finished_run(3)["redis"]
    after = example.scrape()

    assert stats["resilience"]["circuit"]["state"] == "closed"
    assert value(after, "agent_cache_fallback_active", **redis, cache_on_error="fallback") == 0
    replayed = stats["resilience"]["invalidations_replayed"]
    assert value(after, "agent_cache_invalidations_replayed_total", **redis) == replayed > 0
