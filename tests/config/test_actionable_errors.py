"""Errors a user can act on (issue 10.7): each names the file, key path or variable to fix, and
offers the nearest known name when one is close."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import CacheConfig
from src.infrastructure.cache.config.loader import load_cache_config
from src.interfaces.llm.cache import CacheConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "global.yaml"
SCRIPT = Path(sys.executable).parent / "agent-cache"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path | None = None, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(CacheConfigError) as refused:
        load_cache_config(path, environ=environ or {})
    return str(refused.value)


# ------------------------------------------------------------------ the file's root


@pytest.mark.parametrize("by", ["argument", "variable"])
def test_an_explicit_file_with_a_misspelt_root_key_names_file_and_suggests_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    path = write(tmp_path / "typo_root.yaml", "cahce:\n  default_provider: redis\n")
    monkeypatch.chdir(tmp_path)
    message = refusal(path) if by == "argument" else refusal(environ={"AGENT_CACHE_CONFIG": str(path)})
    assert message == (
        f"{path}: no top-level 'cache:' section, but a top-level 'cahce'; did you mean 'cache'?"
    )


def test_an_explicit_empty_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.yaml", "# nothing yet\n")
    assert refusal(path).startswith(
        f"{path}: the file is empty; agent-cache reads its settings from a top-level 'cache:' section"
    )


def test_an_explicit_file_without_a_cache_section_lists_its_root_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "framework.yaml", "llm: {model: x}\ntools: []\n'pass word': 1\n")
    assert refusal(path).startswith(
        f"{path}: no top-level 'cache:' section (top-level keys: llm, tools and 1 not shown); "
        "agent-cache reads its settings only from there"
    )


@pytest.mark.parametrize("key", ["providers", "default_provider"])
def test_cache_settings_at_the_top_level_are_an_error_naming_the_key(tmp_path: Path, key: str) -> None:
    path = write(tmp_path / "flat.yaml", f"{key}: {{}}\n")
    assert refusal(path) == (
        f"{path}: '{key}' is at the top level, but agent-cache reads it only under 'cache:'; indent it "
        "(and the keys with it) under a top-level 'cache:'"
    )


def test_an_empty_cache_section_in_an_explicit_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_cache_config(write(tmp_path / "x.yaml", "cache:\n"), environ={}).default_provider == "memory"


def test_an_implicit_framework_file_without_a_cache_section_leaves_the_packaged_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """configs/global.yaml found in the working directory is the framework's file: no cache section
    there means the cache is not configured in it, and the packaged defaults (with their variables)
    apply, saying so in ``source``."""
    write(tmp_path / "configs" / "global.yaml", "llm: {model: x}\n")
    monkeypatch.chdir(tmp_path)
    config = load_cache_config(environ={"AGENT_CACHE_REDIS_ENABLED": "true"})
    assert config.providers["redis"].enabled  # the packaged file's ${AGENT_CACHE_REDIS_ENABLED}
    assert config.source.startswith("packaged defaults")
    assert f"{tmp_path / 'configs' / 'global.yaml'} has no 'cache:' section" in config.source
    write(tmp_path / "configs" / "global.yaml", "")
    assert load_cache_config(environ={}).source.startswith("packaged defaults")


def test_an_implicit_file_with_a_misspelt_root_key_is_an_error_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "configs" / "global.yaml", "llm: {}\nCache:\n  default_provider: redis\n")
    monkeypatch.chdir(tmp_path)
    assert refusal() == (
        f"{path}: no top-level 'cache:' section, but a top-level 'Cache'; did you mean 'cache'? "
        "(if 'Cache' is not agent-cache's, add an empty 'cache:')"
    )


def test_a_yaml_error_in_the_file_the_variable_names_names_that_file(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", "cache:\n  providers: [unclosed\n")
    assert refusal(environ={"AGENT_CACHE_CONFIG": str(path)}).startswith(f"{path}: not valid YAML at line ")


def test_the_cli_refuses_a_misspelt_root_instead_of_reporting_memory_ok(tmp_path: Path) -> None:
    path = write(tmp_path / "typo_root.yaml", "cahce:\n  default_provider: redis\n")
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AGENT_CACHE_")}
    result = subprocess.run(
        [str(SCRIPT), "health", "--config", str(path)],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"agent-cache: error: {path}: no top-level 'cache:' section, but a top-level 'cahce'; "
        "did you mean 'cache'?"
    )


# ------------------------------------------------------------------ did you mean, at every level


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"default_provder": "memory"},
            "cache.default_provder: unknown setting; did you mean 'default_provider'? "
            "(known: default_provider, llm, providers)",
        ),
        (
            {"providers": {"redsi": {}}},
            "cache.providers.redsi: unknown provider (known: memory, redis); did you mean 'redis'?",
        ),
        (
            {"default_provider": "redsi"},
            "cache.default_provider: 'redsi' is not a provider; did you mean 'redis'?",
        ),
        (
            {"providers": {"redis": {"circuit_breaker": {"failure_treshold": 3}}}},
            "cache.providers.redis.circuit_breaker.failure_treshold: unknown setting; "
            "did you mean 'failure_threshold'?",
        ),
        (
            {"providers": {"redis": {"on_error": "fallbak"}}},
            "cache.providers.redis.on_error: expected one of raise, fallback, ignore, got 'fallbak'; "
            "did you mean 'fallback'?",
        ),
    ],
    ids=["under-cache", "provider-name", "default-provider", "nested", "choice"],
)
def test_did_you_mean_at_every_level(section: dict[str, Any], message: str) -> None:
    with pytest.raises(CacheConfigError) as refused:
        CacheConfig.from_mapping(section)
    assert str(refused.value).startswith(message)


# ------------------------------------------------------------------ values from the environment


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "AGENT_CACHE_REDIS_PORT",
            "abc",
            "cache.providers.redis.port: expected an integer, got 'abc' "
            "(from environment variable AGENT_CACHE_REDIS_PORT)",
        ),
        (
            "AGENT_CACHE_REDIS_CIRCUIT_OPEN_INTERVAL",
            "0",
            "cache.providers.redis.circuit_breaker.open_interval: must be between 0.01 and 3600, got '0' "
            "(from environment variable AGENT_CACHE_REDIS_CIRCUIT_OPEN_INTERVAL)",
        ),
        (
            "AGENT_CACHE_REDIS_STARTUP_NODES",
            "a:1,nohost",
            "cache.providers.redis.startup_nodes[1]: expected 'host:port', got 'nohost' "
            "(from environment variable AGENT_CACHE_REDIS_STARTUP_NODES)",
        ),
        (
            "AGENT_CACHE_REDIS_KEY_PREFIX",
            "",
            "cache.providers.redis.key_prefix: empty, so clear() would delete every key of the database",
        ),
        (
            "AGENT_CACHE_DEFAULT_PROVIDER",
            "redsi",
            "cache.default_provider: 'redsi' is not a provider; did you mean 'redis'? enabled providers: "
            "memory (from environment variable AGENT_CACHE_DEFAULT_PROVIDER)",
        ),
    ],
)
def test_a_refused_value_from_a_variable_names_the_variable(variable: str, value: str, message: str) -> None:
    text = refusal(SHIPPED, {variable: value})
    assert text.startswith(message)
    assert text.endswith(f"(in {SHIPPED})")
    if variable == "AGENT_CACHE_REDIS_KEY_PREFIX":
        assert "(from environment variable AGENT_CACHE_REDIS_KEY_PREFIX)" in text


def test_a_value_the_file_gives_names_no_variable(tmp_path: Path) -> None:
    path = write(tmp_path / "x.yaml", 'cache:\n  providers:\n    redis:\n      port: "${UNSET_PORT:abc}"\n')
    assert refusal(path) == f"cache.providers.redis.port: expected an integer, got 'abc' (in {path})"


def test_a_secret_from_a_variable_names_the_variable_never_the_value() -> None:
    text = refusal(SHIPPED, {"AGENT_CACHE_REDIS_PASSWORD": b"s3cr3t-\xff".decode("utf-8", "surrogateescape")})
    assert "(from environment variable AGENT_CACHE_REDIS_PASSWORD)" in text
    assert "s3cr3t" not in text


def test_a_missing_variable_is_named_with_the_full_key_path(tmp_path: Path) -> None:
    path = write(tmp_path / "x.yaml", 'cache:\n  providers:\n    redis:\n      host: "${REDIS_HOST_X}"\n')
    assert refusal(path) == (
        f"environment variable REDIS_HOST_X is not set and has no default (used at "
        f"cache.providers.redis.host in {path}); set it, or write ${{REDIS_HOST_X:default}}"
    )
