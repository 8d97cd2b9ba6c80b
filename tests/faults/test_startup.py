"""Start-up with Redis down: the container starts; fallback and ignore serve with one clear warning,
raise raises; ``agent-cache health`` shows each provider's and the breaker's state and exits 1."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from src.interfaces.llm.cache import CacheUnavailableError, ICacheProvider
from src.services.container import create_container
from tests.conftest import unique_prefix
from tests.redis_servers import RedisServer, free_port

pytestmark = pytest.mark.redis

SCRIPT = Path(sys.executable).parent / "agent-cache"


def write_config(tmp_path: Path, url: str, on_error: str) -> Path:
    path = tmp_path / "global.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            cache:
              default_provider: redis
              providers:
                redis:
                  enabled: true
                  url: "{url}"
                  key_prefix: "{unique_prefix()}"
                  socket_timeout: 0.2
                  socket_connect_timeout: 0.2
                  on_error: {on_error}
                  circuit_breaker: {{failure_threshold: 2, open_interval: 30}}
            """
        )
    )
    return path


def down_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.mark.parametrize(("on_error", "served"), [("fallback", {"v": 1}), ("ignore", None)])
def test_with_redis_down_the_container_starts_and_serves_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, on_error: str, served: object
) -> None:
    container = create_container(write_config(tmp_path, down_url(), on_error))
    try:
        with caplog.at_level(logging.INFO):
            cache = container.resolver().get(ICacheProvider)
            for _ in range(50):
                cache.set("k", {"v": 1})
                assert cache.get("k") == served
                assert cache.get_many(["k", "x"]) == ({"k": served} if served else {})
            report = cache.health()
            degraded = cache.get_stats()["resilience"]["degraded_calls"]
    finally:
        container.shutdown_resources()
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1, [record.getMessage() for record in warnings]
    message = warnings[0].getMessage()
    assert "redis cache unavailable" in message
    assert f"on_error={on_error}" in message
    assert "refused" in message.lower()
    assert (report["healthy"], report["circuit"], report["on_error"]) == (False, "open", on_error)
    assert degraded >= 149  # every call after the first failed one, counted


def test_with_redis_down_and_raise_the_container_starts_and_calls_raise(tmp_path: Path) -> None:
    container = create_container(write_config(tmp_path, down_url(), "raise"))
    try:
        cache = container.resolver().get(ICacheProvider)
        with pytest.raises(CacheUnavailableError, match="refused"):
            cache.get("k")
        with pytest.raises(CacheUnavailableError, match="refused"):
            cache.set("k", 1)  # opens the circuit: from now on calls fail at once
        with pytest.raises(CacheUnavailableError, match="circuit open"):
            cache.get("k")
    finally:
        container.shutdown_resources()


def health(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AGENT_CACHE_")}
    return subprocess.run(
        [str(SCRIPT), "health", "--config", str(config), *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_health_reports_redis_down_with_its_breaker_and_exits_1(tmp_path: Path) -> None:
    result = health(write_config(tmp_path, down_url(), "fallback"))
    assert result.returncode == 1, result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert lines["redis"].startswith("DOWN")
    assert "refused" in lines["redis"].lower()
    assert "circuit=closed" in lines["redis"]
    assert "on_error=fallback" in lines["redis"]
    assert lines["memory"].startswith("ok")


def test_health_reports_a_live_redis_and_its_closed_breaker(
    tmp_path: Path, redis_process: RedisServer
) -> None:
    result = health(write_config(tmp_path, redis_process.url, "fallback"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    redis = next(entry for entry in report["providers"] if entry["provider"] == "redis")
    assert (report["healthy"], redis["healthy"], redis["circuit"]) == (True, True, "closed")
