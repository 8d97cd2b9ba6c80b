"""A refused login says which settings to check - username and password of the cache, or its url,
and their variables - never their values (issue 10.7). Real redis-server processes with ACL users
or a ``requirepass``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from src.interfaces.llm.cache import CacheAccessError
from tests.redis_servers import RedisServer
from tests.security.conftest import (
    AGENT_PASSWORD,
    READER_PASSWORD,
    SECRETS,
    WRONG_PASSWORD,
    MakeProvider,
    server_config,
)

pytestmark = pytest.mark.redis

SETTINGS = (
    "check username and password of cache.providers.<name> (or the user info of its url; "
    "AGENT_CACHE_REDIS_USERNAME and AGENT_CACHE_REDIS_PASSWORD, or AGENT_CACHE_REDIS_URL"
)


@pytest.fixture(scope="module")
def password_server() -> Iterator[RedisServer]:
    """The classic setup: one password for the default user (``requirepass``), no ACL users."""
    with RedisServer(args=("--requirepass", AGENT_PASSWORD)) as server:
        yield server


def refusals(make_provider: MakeProvider, server: RedisServer, **settings: object) -> list[str]:
    """The messages of a sync call, an async call and ``health()`` with these settings."""
    cache = make_provider(server_config(server, on_error="fallback", **settings))
    messages = []
    for call in (lambda: cache.get("k"), lambda: asyncio.run(cache.set_async("k", 1))):
        with pytest.raises(CacheAccessError) as refused:
            call()
        messages.append(str(refused.value))
    messages.append(str(cache.health()["detail"]))
    for message in messages:
        assert not any(secret in message for secret in SECRETS), message
    return messages


@pytest.mark.parametrize(
    ("username", "password", "url"),
    [("agent", WRONG_PASSWORD, False), ("nobody", WRONG_PASSWORD, False), ("agent", WRONG_PASSWORD, True)],
    ids=["wrong-password", "unknown-user", "url"],
)
def test_refused_credentials_name_the_settings_and_variables(
    acl_server: RedisServer, make_provider: MakeProvider, username: str, password: str, url: bool
) -> None:
    settings: dict[str, object] = (
        {"url": f"redis://{username}:{password}@{acl_server.host}:{acl_server.port}/0"}
        if url
        else {"username": username, "password": password}
    )
    for message in refusals(make_provider, acl_server, **settings):
        assert "(auth): the server refused the credentials: " + SETTINGS in message
        assert "server said: WRONGPASS invalid username-password pair" in message  # kept for debugging


def test_no_credentials_where_the_acl_needs_them_says_none_were_sent(
    acl_server: RedisServer, make_provider: MakeProvider
) -> None:
    """redis-py's raw text here was 'HELLO must be called with the client already authenticated...'."""
    for message in refusals(make_provider, acl_server):
        assert "(auth): the server requires credentials and none were sent: " + SETTINGS in message


def test_no_password_for_a_requirepass_server_says_none_were_sent(
    password_server: RedisServer, make_provider: MakeProvider
) -> None:
    for message in refusals(make_provider, password_server):
        assert "the server requires credentials and none were sent: " + SETTINGS in message


def test_a_wrong_password_for_a_requirepass_server_names_the_settings(
    password_server: RedisServer, make_provider: MakeProvider
) -> None:
    for message in refusals(make_provider, password_server, password=WRONG_PASSWORD):
        assert "the server refused the credentials: " + SETTINGS in message


def test_a_denied_command_says_to_grant_it_or_use_another_user(
    acl_server: RedisServer, make_provider: MakeProvider
) -> None:
    cache = make_provider(server_config(acl_server, username="reader", password=READER_PASSWORD))
    with pytest.raises(CacheAccessError) as refused:
        cache.set("k", 1)
    message = str(refused.value)
    assert (
        "(auth): the user lacks an ACL permission for this command or key: grant it on the server" in message
    )
    assert "set username (AGENT_CACHE_REDIS_USERNAME) to a user that has it" in message
    assert READER_PASSWORD not in message
