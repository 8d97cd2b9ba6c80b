"""Redis ACL users: the right credentials work; wrong ones and denied commands or keys are
CacheAccessError under every failure policy - never a fallback that hides the misconfiguration."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import CircuitBreakerConfig
from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from src.interfaces.llm.cache import CacheAccessError, CacheUnavailableError
from tests.faults.conftest import OPEN_INTERVAL
from tests.redis_servers import RedisServer
from tests.security.conftest import (
    ACL_USERS,
    AGENT_PASSWORD,
    READER_PASSWORD,
    SECRETS,
    WRONG_PASSWORD,
    MakeProvider,
    server_config,
)

pytestmark = pytest.mark.redis

POLICIES = ["fallback", "ignore", "raise"]
CALLS: dict[str, Callable[[ResilientCacheProvider], Any]] = {
    "get": lambda cache: cache.get("k"),
    "set": lambda cache: cache.set("k", 1),
    "delete_many": lambda cache: cache.delete_many(["k"]),
    "get_async": lambda cache: asyncio.run(cache.get_async("k")),
    "set_async": lambda cache: asyncio.run(cache.set_async("k", 1)),
}


def assert_refused_everywhere(cache: ResilientCacheProvider, kind: str) -> None:
    """Every call raises CacheAccessError naming ``kind``; the circuit stays closed; no secret shows."""
    for name, call in CALLS.items():
        with pytest.raises(CacheAccessError, match=rf"\({kind}\)") as raised:
            call(cache)
        assert not isinstance(raised.value, CacheUnavailableError), name
        assert not any(secret in str(raised.value) for secret in SECRETS), name
    stats = cache.get_stats()
    assert stats["resilience"]["circuit"]["state"] == "closed"  # not an outage: no fallback
    assert stats["resilience"]["degraded_calls"] == 0
    assert stats["errors_by_kind"] == {kind: len(CALLS)}


@pytest.mark.parametrize("by_url", [False, True], ids=["username-password", "url"])
def test_an_acl_user_with_its_password_works(
    acl_server: RedisServer, make_provider: MakeProvider, caplog: pytest.LogCaptureFixture, by_url: bool
) -> None:
    if by_url:
        config = server_config(
            acl_server, url=f"redis://agent:{AGENT_PASSWORD}@{acl_server.host}:{acl_server.port}/0"
        )
    else:
        config = server_config(acl_server, username="agent", password=AGENT_PASSWORD)
    cache = make_provider(config)
    cache.set("k", {"v": 1})
    cache.set_many({"a": 1, "b": 2})  # a script call (EVALSHA), hence +@scripting
    asyncio.run(cache.set_many_async({"c": 3}))
    assert cache.get("k") == {"v": 1}
    assert asyncio.run(cache.get_async("k")) == {"v": 1}
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": 2, "c": 3}
    assert cache.exists("a")
    assert cache.delete("a")
    assert cache.get_size() == 3
    assert cache.health()["healthy"] is True
    assert cache.clear() == 3
    assert cache.primary.get_stats()["errors"] == 0
    assert "scripts refused" not in caplog.text  # batches went through EVALSHA, not the fallback


@pytest.mark.parametrize("on_error", POLICIES)
@pytest.mark.parametrize(
    ("username", "password"),
    [("agent", WRONG_PASSWORD), ("nobody", WRONG_PASSWORD), (None, None)],
    ids=["wrong-password", "unknown-user", "no-credentials"],
)
def test_refused_credentials_are_an_access_error_under_every_policy(
    acl_server: RedisServer,
    make_provider: MakeProvider,
    on_error: str,
    username: str | None,
    password: str | None,
) -> None:
    cache = make_provider(server_config(acl_server, username=username, password=password, on_error=on_error))
    assert_refused_everywhere(cache, "auth")
    report = cache.health()
    assert report["healthy"] is False
    assert "(auth)" in report["detail"]


@pytest.mark.parametrize("on_error", POLICIES)
def test_a_command_the_acl_denies_is_an_access_error(
    acl_server: RedisServer, make_provider: MakeProvider, on_error: str
) -> None:
    cache = make_provider(
        server_config(acl_server, username="reader", password=READER_PASSWORD, on_error=on_error)
    )
    assert cache.get("k") is None  # reading is allowed
    with pytest.raises(CacheAccessError, match=r"\(auth\).*NOPERM|no permissions"):
        cache.set("k", 1)
    with pytest.raises(CacheAccessError):
        asyncio.run(cache.delete_async("k"))
    assert cache.get_stats()["resilience"]["circuit"]["times_opened"] == 0


@pytest.mark.parametrize("on_error", POLICIES)
def test_a_key_outside_the_users_patterns_is_an_access_error(
    acl_server: RedisServer, make_provider: MakeProvider, on_error: str
) -> None:
    config = server_config(
        acl_server, username="agent", password=AGENT_PASSWORD, on_error=on_error, key_prefix="other:"
    )
    cache = make_provider(config)
    assert_refused_everywhere(cache, "auth")


def test_credentials_that_stop_working_during_an_outage_keep_the_circuit_open_and_say_why(
    make_provider: MakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """The documented limit: the probe sees an unhealthy server and the fallback keeps serving; the
    reason, (auth), is in the probe's log line."""
    with RedisServer(users=ACL_USERS) as server:
        cache = make_provider(
            server_config(
                server,
                username="agent",
                password=AGENT_PASSWORD,
                circuit_breaker=CircuitBreakerConfig(3, OPEN_INTERVAL),
            )
        )
        cache.set("k", 1)
        server.kill()
        cache.set("k", 2)  # fails: the circuit opens, the fallback serves
        server.users = ("default off", f"agent on >{WRONG_PASSWORD} ~app:* +@all")  # rotated meanwhile
        server.restart()
        time.sleep(OPEN_INTERVAL + 0.05)
        with caplog.at_level(logging.INFO):
            assert cache.get("k") == 2  # the probe failed: still the fallback
        assert circuit_state(cache) == "open"
        assert "still unavailable: health check failed" in caplog.text
        assert "(auth)" in caplog.text
        assert not any(secret in caplog.text for secret in SECRETS)


def circuit_state(cache: ResilientCacheProvider) -> str:
    state: str = cache.get_stats()["resilience"]["circuit"]["state"]
    return state
