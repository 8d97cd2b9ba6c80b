"""Secrets never show - not in logs (DEBUG included), repr, stats, health, CLI output or exception
text - and nothing in the cache can run code: msgpack only, never pickle; YAML loaded safely."""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import pickle
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from src.cli.main import cli
from src.infrastructure.cache.config.cache_config import CircuitBreakerConfig
from src.infrastructure.cache.config.loader import load_cache_config
from src.interfaces.llm.cache import CacheAccessError, CacheError
from tests.config.planted import SPECIALS, leaked, planted
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


# ----------------------------------------------------------------- planted passwords, every command
#
# One ACL user per planted password (``#<sha256>`` rules take any characters), so a correctly given
# password connects and a command's whole success path is scanned too, not only its errors.

#: Every command of src/cli/main.py that reads the configuration, and the help of the one that
#: takes a URL on its command line. Options keep each run short.
COMMANDS = (
    ("config",),
    ("stats", "--provider", "redis"),
    ("stats", "--json", "--provider", "redis"),
    ("health",),
    ("health", "--json"),
    ("demo", "--provider", "redis", "--requests", "4", "--unique", "2", "--latency-ms", "0"),
    ("bench", "--help"),
    (
        "bench",
        "--provider",
        "redis",
        "--rounds",
        "1",
        "--ops",
        "2",
        "--tasks",
        "1",
        "--pin",
        "none",
        "--footprint-entries",
        "0",
    ),
)


def user_of(char: str) -> str:
    return f"planted{ord(char):02x}"


@pytest.fixture(scope="module")
def planted_server() -> Iterator[RedisServer]:
    rules = [
        f"{user_of(char)} on #{hashlib.sha256(planted(char).encode()).hexdigest()} ~app:* -@all "
        "+@read +@write +@connection +@scripting -@dangerous +info"
        for char in SPECIALS
    ]
    with RedisServer(users=rules) as server:
        yield server


def yaml_text(redis: dict[str, str]) -> str:
    """A config whose redis settings are written as given (raw YAML text after each key)."""
    lines = ["cache:", "  default_provider: redis", "  providers:", "    redis:"]
    lines += [f"      {key}: {text}" for key, text in {"enabled": "true", **redis}.items()]
    return "\n".join(lines) + "\n"


def scenarios(server: RedisServer, char: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Each way a password reaches the configuration: ``name -> (YAML text, environment)``."""
    password, user = planted(char), user_of(char)
    where = f"{server.host}:{server.port}/0"
    prefix = json.dumps(f"app:planted:{ord(char):02x}:")
    address = {"host": server.host, "port": str(server.port), "key_prefix": prefix}
    by_url = {"url": f'"redis://{user}:${{AGENT_CACHE_REDIS_PASSWORD}}@{where}"', "key_prefix": prefix}
    by_field = {**address, "username": user, "password": "${AGENT_CACHE_REDIS_PASSWORD}"}
    variable = {"AGENT_CACHE_REDIS_PASSWORD": password}
    return {
        "url written in the file": (
            yaml_text({"url": json.dumps(f"redis://{user}:{password}@{where}"), "key_prefix": prefix}),
            {},
        ),
        "url from a variable": (yaml_text(by_url), variable),
        "encoded url from a variable": (
            yaml_text(by_url),
            {"AGENT_CACHE_REDIS_PASSWORD": quote(password, safe="")},
        ),
        "password written in the file": (
            yaml_text({**address, "username": user, "password": json.dumps(password)}),
            {},
        ),
        "password from a variable": (yaml_text(by_field), variable),
        "password of another user": (yaml_text({**by_field, "username": "nobody"}), variable),
        "bad YAML after the password": (
            yaml_text({**address, "password": json.dumps(password), "db": "[unclosed"}),
            {},
        ),
        "password unquoted, then a colon": (yaml_text({**address, "password": f"{password}: x"}), {}),
        "password read as an alias": (yaml_text({**address, "password": f"*{password}"}), {}),
        "password read as a tag": (yaml_text({**address, "password": f"!{password} x"}), {}),
        "password forced to an integer": (yaml_text({**address, "password": f"!!int {password}"}), {}),
        "password glued to its key": (  # {password:...} is one key, named in "unknown setting"
            f"cache:\n  providers:\n    redis: {{enabled: true, host: {server.host}, password:{password}}}\n",
            {},
        ),
        "url unquoted, then a colon": (
            yaml_text({"url": f"redis://{user}:{password}@{where} x: y", "key_prefix": prefix}),
            {},
        ),
    }


def load_outcome(config: Path, env: dict[str, str]) -> tuple[str, str]:
    """``("loads", "")``, or ``("refused", the error's text and everything chained to it)``."""
    try:
        load_cache_config(config, environ=env)
    except CacheError as exc:
        return "refused", "\n".join(exception_texts(exc))
    return "loads", ""


def run_in_process(args: tuple[str, ...], env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI in this process: its exit code, and everything it showed (stdout, stderr and any
    exception it raised)."""
    result = CliRunner().invoke(cli, ["-vv", *args], env=env, catch_exceptions=True)
    shown = result.stdout + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        shown += "".join(traceback.format_exception(result.exception))
    return result.exit_code, shown


@pytest.mark.parametrize("char", SPECIALS, ids=repr)
def test_no_planted_password_in_any_command_output_log_or_error(
    planted_server: RedisServer,
    char: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in [name for name in os.environ if name.startswith("AGENT_CACHE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    password = planted(char)
    outcomes: dict[str, str] = {}
    healthy: dict[str, bool] = {}
    with caplog.at_level(logging.DEBUG):
        for scenario, (text, env) in scenarios(planted_server, char).items():
            config = tmp_path / "global.yaml"
            config.write_text(text, encoding="utf-8")
            outcomes[scenario], error = load_outcome(config, env)
            assert leaked(error, password) == [], scenario
            for command in COMMANDS:
                code, shown = run_in_process((*command[:1], "--config", str(config), *command[1:]), env)
                assert "Traceback" not in shown, (scenario, command, shown)
                assert leaked(shown, password) == [], (scenario, command, shown)
                if command == ("health",):
                    healthy[scenario] = code == 0
    assert leaked(caplog.text, password) == []
    # The scan covered the success paths too: a password given correctly connects.
    encodable = char in (":", "&", "=")  # allowed unencoded in a URL's user info
    assert outcomes["url written in the file"] == ("loads" if encodable else "refused")
    assert healthy["url written in the file"] is encodable
    for scenario in (
        "encoded url from a variable",
        "password written in the file",
        "password from a variable",
    ):
        assert (outcomes[scenario], healthy[scenario]) == ("loads", True), scenario
    assert (outcomes["password of another user"], healthy["password of another user"]) == ("loads", False)


@pytest.mark.parametrize("char", ["#", "/", "?"], ids=repr)
def test_no_planted_password_in_the_console_script_output(
    planted_server: RedisServer, char: str, tmp_path: Path
) -> None:
    """The real console script (DEBUG logging on its stderr), for a few of the in-process cases."""
    password = planted(char)
    for scenario in ("url from a variable", "password from a variable", "bad YAML after the password"):
        text, env = scenarios(planted_server, char)[scenario]
        (tmp_path / "global.yaml").write_text(text, encoding="utf-8")
        for command in ("config", "health", "stats --provider redis"):
            result = run_cli(*command.split(), "--config", "global.yaml", env=env, cwd=tmp_path)
            shown = result.stdout + result.stderr
            assert "Traceback" not in shown, (scenario, command, shown)
            assert leaked(shown, password) == [], (scenario, command, shown)
    bad_url = f"redis://{user_of(char)}:{password}@{planted_server.host}:{planted_server.port}/0"
    result = run_cli("bench", "--redis-url", bad_url, "--provider", "redis", env={}, cwd=tmp_path)
    assert leaked(result.stdout + result.stderr, password) == []
