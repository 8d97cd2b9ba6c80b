"""The installed ``agent-cache`` console script, run as a user runs it: a subprocess in a temp directory.

Every run gets an environment with no ``AGENT_CACHE_*`` variable except those a test sets, and a
working directory without ``configs/`` unless a test writes one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unique_prefix
from tests.redis_servers import RedisEndpoint, free_port

SCRIPT = Path(sys.executable).parent / "agent-cache"
#: Small and fast, but with enough repeats for a real hit rate.
FAST_DEMO = ("demo", "--requests", "60", "--unique", "12", "--latency-ms", "2", "--seed", "7")
SECRET = "s3cr3t-Pa55-do-not-print"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the console script with ``args`` in ``cwd``; ``env`` adds to a cleaned environment."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AGENT_CACHE_")}
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit status non-zero; stderr is one ``agent-cache: error:`` line containing every fragment."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("agent-cache: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def write_config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_console_script_is_installed() -> None:
    assert SCRIPT.is_file(), f"run pip install -e '.[dev]' first; no {SCRIPT}"


# ---------------------------------------------------------------- demo


def test_demo_on_the_default_memory_provider_shows_hits_and_time_saved(tmp_path: Path) -> None:
    result = run(*FAST_DEMO, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "demo on provider 'memory'" in result.stdout
    assert "hit rate" in result.stdout
    assert "time saved" in result.stdout
    assert "tokens saved" in result.stdout
    assert "money saved" in result.stdout
    assert "LLM-response cache (cache 'memory', namespace 'demo')" in result.stdout
    assert "memory get_stats():" in result.stdout
    assert "all " in result.stdout
    assert "equal the LLM's answer" in result.stdout
    assert "Traceback" not in result.stderr


def test_demo_numbers_are_consistent(tmp_path: Path) -> None:
    result = run(*FAST_DEMO, "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["provider"] == "memory"
    assert report["requests"] == 60
    assert report["llm_calls"] + report["calls_saved"] == report["requests"]
    assert report["llm_calls"] == report["distinct_prompts"]
    assert 0 < report["hit_rate"] < 1
    assert report["mismatches"] == 0
    assert report["seconds_saved"] > 0
    assert report["uncached_seconds"] > report["elapsed"]
    # The LLM cache counted what the demo counted, and priced what it saved.
    llm = report["llm_stats"]
    assert (llm["hits"], llm["misses"], llm["requests"]) == (report["calls_saved"], report["llm_calls"], 60)
    assert llm["saved"]["model_calls"] == report["calls_saved"]
    assert llm["saved"]["prompt_tokens"] > 0
    assert llm["saved"]["cost"] > 0
    # The provider's own counters tell the same story as the demo's: one computation and one set
    # per LLM call; every other request was a hit or waited for another agent's call in flight.
    stats = report["provider_stats"]
    assert stats["compute"]["computes"] == report["llm_calls"]
    assert stats["sets"] == report["llm_calls"]
    assert stats["hits"] + stats["compute"]["lock_waits"] >= report["calls_saved"]


def test_demo_with_the_same_seed_makes_the_same_calls(tmp_path: Path) -> None:
    first = json.loads(run(*FAST_DEMO, "--json", cwd=tmp_path).stdout)
    second = json.loads(run(*FAST_DEMO, "--json", cwd=tmp_path).stdout)

    assert (first["llm_calls"], first["distinct_prompts"]) == (
        second["llm_calls"],
        second["distinct_prompts"],
    )


def test_unknown_provider_is_one_line_listing_the_registered_names(tmp_path: Path) -> None:
    result = run(*FAST_DEMO, "--provider", "nosuch", cwd=tmp_path)

    assert_one_line_error(result, "'nosuch'", "registered: memory")


def test_python_dash_m_runs_the_same_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "src.cli", "health"], cwd=tmp_path, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("memory")


# ---------------------------------------------------------------- config


def test_config_masks_a_password_given_by_environment(tmp_path: Path) -> None:
    result = run("config", cwd=tmp_path, env={"AGENT_CACHE_REDIS_PASSWORD": SECRET})

    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "password: '***'" in result.stdout


def test_config_from_a_directory_without_configs_uses_the_packaged_defaults(tmp_path: Path) -> None:
    result = run("config", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "packaged defaults" in result.stdout.splitlines()[0]
    assert "default_provider: memory" in result.stdout


def test_config_reads_configs_global_yaml_in_the_working_directory(tmp_path: Path) -> None:
    write_config(
        tmp_path / "configs" / "global.yaml", "cache:\n  providers:\n    memory:\n      max_size: 77\n"
    )

    result = run("config", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "configs" / "global.yaml") in result.stdout.splitlines()[0]
    assert "max_size: 77" in result.stdout


def test_config_follows_the_environment_variable(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "elsewhere.yaml", "cache:\n  providers:\n    memory:\n      max_size: 55\n"
    )

    result = run("config", cwd=tmp_path, env={"AGENT_CACHE_CONFIG": str(config)})

    assert result.returncode == 0, result.stderr
    assert str(config) in result.stdout.splitlines()[0]
    assert "max_size: 55" in result.stdout


def test_bad_config_value_is_one_line_naming_the_key_path(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bad.yaml", 'cache:\n  providers:\n    redis:\n      port: "abc"\n')

    for command in ("config", "demo", "stats", "health"):
        assert_one_line_error(
            run(command, "--config", str(config), cwd=tmp_path), "cache.providers.redis.port"
        )


def test_config_masks_a_password_inside_the_redis_url(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "url.yaml", "cache:\n  providers:\n    redis:\n      url: ${AGENT_CACHE_REDIS_URL}\n"
    )

    env = {"AGENT_CACHE_REDIS_URL": f"redis://agent:{SECRET}@cache.internal:6380/2"}
    result = run("config", "--config", str(config), cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "redis://agent:***@cache.internal:6380/2" in result.stdout


def test_invalid_yaml_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "broken.yaml", "cache: [\n  unclosed\n")

    assert_one_line_error(run("config", "--config", str(config), cwd=tmp_path), "not valid YAML")


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    result = run("demo", "--config", str(missing), cwd=tmp_path)

    assert_one_line_error(result, str(missing), "does not exist")


# ---------------------------------------------------------------- health and stats


def test_health_exits_0_when_memory_is_up(tmp_path: Path) -> None:
    result = run("health", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["memory", "ok"]


def test_health_json_reports_each_provider(tmp_path: Path) -> None:
    result = run("health", "--provider", "memory", "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is True
    assert [entry["provider"] for entry in report["providers"]] == ["memory"]


def test_stats_json_is_valid_json_with_the_contract_keys(tmp_path: Path) -> None:
    result = run("stats", "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["provider"] == "memory"
    assert {"hits", "misses", "hit_rate", "sets", "deletes", "errors", "size"} <= set(stats)
    assert stats["llm"]["cache"] == "memory"
    assert {"requests", "hits", "misses", "saved", "spent", "by_model"} <= set(stats["llm"])


def test_stats_shows_the_llm_cache_over_the_cache_it_is_configured_on(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "cache.yaml",
        "cache:\n  providers:\n    answers: {type: memory}\n  llm: {cache: answers, namespace: agents}\n",
    )

    result = run("stats", "--config", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "LLM-response cache (cache 'answers', namespace 'agents'): counters of this" in result.stdout


@pytest.mark.parametrize("command", ["stats", "health"])
def test_unknown_provider_for_stats_and_health(tmp_path: Path, command: str) -> None:
    assert_one_line_error(run(command, "--provider", "nosuch", cwd=tmp_path), "'nosuch'")


# ---------------------------------------------------------------- whose counters stats shows (issue 15)


def assert_fits_80_columns(text: str) -> None:
    long = [line for line in text.splitlines() if len(line) > 80]
    assert not long, long


def test_stats_says_the_counters_and_size_are_this_processs(tmp_path: Path) -> None:
    result = run("stats", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("cache 'memory': memory provider in this process")
    assert "Size and counters of this process only" in out
    assert "a service's entries and counters are in that service" in " ".join(out.split())
    assert "entries         0 of 10,000" in out
    assert "lookups         0 hits, 0 misses (hit rate -)" in out
    assert_fits_80_columns(out)


def test_stats_format_json_says_whose_counters_and_keeps_the_contract_keys(tmp_path: Path) -> None:
    as_format = json.loads(run("stats", "--format", "json", cwd=tmp_path).stdout)
    as_flag = json.loads(run("stats", "--json", cwd=tmp_path).stdout)

    for report in (as_format, as_flag):
        assert report["cache"] == "memory"
        assert report["scope"]["counters"] == "process"
        assert report["scope"]["size"] == "process"
        assert isinstance(report["scope"]["pid"], int)
        assert {"provider", "hits", "misses", "sets", "errors", "size", "compute"} <= set(report)


def redis_config(tmp_path: Path, url: str, prefix: str) -> Path:
    return write_config(
        tmp_path / "redis.yaml",
        "cache:\n  providers:\n    redis:\n      enabled: true\n"
        f'      url: {url}\n      key_prefix: "{prefix}"\n'
        "      socket_timeout: 0.5\n      socket_connect_timeout: 0.5\n",
    )


@pytest.mark.redis
def test_stats_of_a_redis_cache_shows_the_servers_size_and_this_processs_counters(
    tmp_path: Path, redis_endpoint: RedisEndpoint
) -> None:
    prefix = unique_prefix()
    raw = redis_endpoint.client()
    try:
        for number in range(3):
            raw.set(f"{prefix}k{number}", b"x")
        config = redis_config(tmp_path, redis_endpoint.url, prefix)
        text = run("stats", "--provider", "redis", "--config", str(config), cwd=tmp_path)
        document = json.loads(
            run("stats", "--provider", "redis", "--config", str(config), "--json", cwd=tmp_path).stdout
        )
    finally:
        raw.delete(*(f"{prefix}k{number}" for number in range(3)))
        raw.close()

    assert text.returncode == 0, text.stderr
    assert "Size, asked of the server now" in text.stdout
    assert f"entries         3 keys under '{prefix}'" in text.stdout
    assert "Counters of this process only" in text.stdout
    assert "failure policy  on_error=fallback; circuit closed, opened never" in text.stdout
    assert_fits_80_columns(text.stdout)
    assert document["scope"]["size"] == "server"
    assert document["size"] == 3


@pytest.mark.redis
def test_stats_of_an_unreachable_redis_says_the_size_is_unavailable_not_zero(tmp_path: Path) -> None:
    config = redis_config(tmp_path, f"redis://127.0.0.1:{free_port()}/0", unique_prefix())

    text = run("stats", "--provider", "redis", "--config", str(config), cwd=tmp_path)
    document = json.loads(
        run("stats", "--provider", "redis", "--config", str(config), "--json", cwd=tmp_path).stdout
    )

    assert text.returncode == 0, text.stderr
    assert "entries         unavailable: redis PING failed" in text.stdout
    assert_fits_80_columns(text.stdout)
    assert document["size"] is None
    assert "Connection refused" in document["size_error"]


@pytest.mark.redis
def test_a_degraded_demo_run_says_plainly_it_was_served_by_the_fallback(tmp_path: Path) -> None:
    config = redis_config(tmp_path, f"redis://127.0.0.1:{free_port()}/0", unique_prefix())

    result = run(*FAST_DEMO, "--provider", "redis", "--config", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith(
        "SERVED BY THE FALLBACK: redis was unavailable (circuit open), so the in-process"
    )
    assert "equal the LLM's answer" in result.stdout
    served = [line for line in lines if line.startswith("  fallback  ")]
    assert len(served) == 1, result.stdout
    assert_fits_80_columns("\n".join(lines[1:]))  # the title names the workload, the rest fits


def test_a_healthy_demo_run_says_nothing_of_a_fallback(tmp_path: Path) -> None:
    result = run(*FAST_DEMO, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "FALLBACK" not in result.stdout
