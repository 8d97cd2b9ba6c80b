"""Secrets never show - not in logs (DEBUG included), repr, stats, health, CLI output or exception
text - and nothing in the cache can run code: msgpack only, never pickle; YAML loaded safely."""

from __future__ import annotations

import ast
import logging
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import CircuitBreakerConfig
from src.interfaces.llm.cache import CacheAccessError, CacheError
from tests.faults.conftest import OPEN_INTERVAL, wait_for_state
from tests.redis_servers import RedisServer
from tests.security.conftest import (
    ACL_USERS,
    AGENT_PASSWORD,
    SECRETS,
    WRONG_PASSWORD,
    MakeProvider,
    server_config,
)

pytestmark = pytest.mark.redis

SRC = Path(__file__).resolve().parents[2] / "src"
SCRIPT = Path(sys.executable).parent / "agent-cache"


def exception_texts(exc: BaseException) -> list[str]:
    """``str`` and ``repr`` of an exception and of everything chained to it."""
    texts = []
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return texts


def test_no_secret_in_logs_errors_repr_stats_or_health_through_an_outage(
    make_provider: MakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    shown: list[str] = []
    with RedisServer(users=ACL_USERS) as server, caplog.at_level(logging.DEBUG):
        url = f"redis://agent:{AGENT_PASSWORD}@{server.host}:{server.port}/0"
        by_url = make_provider(
            server_config(server, url=url, circuit_breaker=CircuitBreakerConfig(3, OPEN_INTERVAL))
        )
        by_field = make_provider(server_config(server, username="agent", password=WRONG_PASSWORD))
        with pytest.raises(CacheAccessError) as refused:
            by_field.set("k", 1)
        shown += exception_texts(refused.value)
        by_url.set("k", 1)
        server.kill()  # an outage: warnings, failed probes, health reports - all naming the server
        by_url.set("k", 2)
        shown += [str(by_url.health()), str(by_url.get_stats())]
        server.restart()
        time.sleep(OPEN_INTERVAL + 0.05)
        by_url.get("k")
        wait_for_state(by_url, "closed", 1.0)
        for cache in (by_url, by_field):
            shown += [repr(cache), repr(cache.primary), str(cache.get_stats()), str(cache.health())]
            shown.append(repr(getattr(cache.primary, "config", None)))
    shown += [record.getMessage() for record in caplog.records]
    assert any("redis://agent:***@" in text for text in shown)  # the server is named, masked
    leaks = [text for text in shown if any(secret in text for secret in SECRETS)]
    assert leaks == []


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AGENT_CACHE_")}
    return subprocess.run(
        [str(SCRIPT), "-vv", *args],  # DEBUG logging on stderr
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("password", [AGENT_PASSWORD, WRONG_PASSWORD], ids=["right", "wrong"])
def test_no_secret_in_cli_output(acl_server: RedisServer, tmp_path: Path, password: str) -> None:
    env = {  # the shipped global.yaml, driven by environment variables only
        "AGENT_CACHE_REDIS_ENABLED": "true",
        "AGENT_CACHE_REDIS_HOST": acl_server.host,
        "AGENT_CACHE_REDIS_PORT": str(acl_server.port),
        "AGENT_CACHE_REDIS_USERNAME": "agent",
        "AGENT_CACHE_REDIS_PASSWORD": password,
        "AGENT_CACHE_REDIS_KEY_PREFIX": "app:cli:",
    }
    outputs = {
        command: run_cli(*command.split(), env=env, cwd=tmp_path)
        for command in (
            "config",
            "health",
            "health --json",
            "stats --provider redis",
            "demo --provider redis --requests 5",
        )
    }
    assert outputs["health"].returncode == (0 if password == AGENT_PASSWORD else 1)
    for command, result in outputs.items():
        text = result.stdout + result.stderr
        assert not any(secret in text for secret in SECRETS), (command, text)
        assert "Traceback" not in text, (command, text)


def test_a_pickle_under_the_prefix_is_never_unpickled(
    acl_server: RedisServer, make_provider: MakeProvider, tmp_path: Path
) -> None:
    marker = tmp_path / "pickle-ran"

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.mkdir, (str(marker),))

    cache = make_provider(server_config(acl_server, username="agent", password=AGENT_PASSWORD))
    prefix = cache.primary.get_stats()["key_prefix"]
    raw = acl_server.client(username="agent", password=AGENT_PASSWORD)
    payload = pickle.dumps(Exploit())
    raw.set(prefix + "plain-pickle", payload)
    raw.set(prefix + "versioned-pickle", b"\x01" + payload)  # behind our format byte, too
    raw.close()
    assert cache.get("plain-pickle") is None
    assert cache.get_many(["plain-pickle", "versioned-pickle"]) == {}
    assert not marker.exists()
    assert cache.get_stats()["errors_by_kind"] == {"decode": 3}


def test_no_module_can_unpickle_or_load_unsafe_yaml() -> None:
    forbidden_modules = {"pickle", "cPickle", "dill", "cloudpickle", "shelve", "marshal", "jsonpickle"}
    unsafe_yaml = {
        "load",
        "load_all",
        "unsafe_load",
        "unsafe_load_all",
        "full_load",
        "full_load_all",
        "Loader",
    }
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [
                    f"{path}: import {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] in forbidden_modules
                ]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in forbidden_modules:
                found.append(f"{path}: from {node.module} import ...")
            elif (
                isinstance(node, ast.Attribute)
                and node.attr in unsafe_yaml
                and getattr(node.value, "id", "") == "yaml"
            ):
                found.append(f"{path}: yaml.{node.attr}")
    assert found == []


def test_config_errors_never_echo_a_secret() -> None:
    from src.infrastructure.cache.config.cache_config import CacheConfig

    for bad in ({"password": 12345}, {"url": f"redis://u:{AGENT_PASSWORD}@h:notaport/0", "retries": "x"}):
        with pytest.raises(CacheError) as raised:
            CacheConfig.from_mapping({"providers": {"redis": {"enabled": True, **bad}}})
        assert AGENT_PASSWORD not in str(raised.value)
