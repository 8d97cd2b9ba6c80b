"""Servers of the security tests: ACL users, TLS, mutual TLS - real redis-server processes, with
certificates made by ``certs.py``. One of each per module: starting one takes ~50 ms."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from tests.conftest import unique_prefix
from tests.faults.conftest import wrapped
from tests.redis_servers import INSTALL_REDIS_SERVER, RedisServer
from tests.security.certs import Certificates, make_certificates

#: Passwords of the ACL users. Distinctive, so a leak anywhere is found by a plain substring search.
AGENT_PASSWORD = "agent-Pa55-7c1d-do-not-leak"
READER_PASSWORD = "reader-Pa55-91ae-do-not-leak"
WRONG_PASSWORD = "wrong-Pa55-3b0f-do-not-leak"
SECRETS = (AGENT_PASSWORD, READER_PASSWORD, WRONG_PASSWORD)

#: The agent has what the provider needs on keys under ``app:`` (the rule docs/operations.md recommends);
#: the reader may only read them.
ACL_USERS = (
    "default off",
    f"agent on >{AGENT_PASSWORD} ~app:* -@all +@read +@write +@connection +@scripting -@dangerous",
    f"reader on >{READER_PASSWORD} ~app:* -@all +@read +@connection +scan",
)

MakeProvider = Callable[..., ResilientCacheProvider]


def _need(binary: str, why: str) -> None:
    if not shutil.which(binary):
        pytest.fail(why, pytrace=False)


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    _need("openssl", "the TLS tests make their certificates with the openssl command; install openssl")
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def acl_server() -> Iterator[RedisServer]:
    _need("redis-server", f"the security tests start their own redis-server; {INSTALL_REDIS_SERVER}")
    with RedisServer(users=ACL_USERS) as server:
        yield server


@pytest.fixture(scope="module")
def tls_server(certificates: Certificates) -> Iterator[RedisServer]:
    """TLS only (no plain port), with the agent user; clients need not present a certificate."""
    _need("redis-server", f"the security tests start their own redis-server; {INSTALL_REDIS_SERVER}")
    with RedisServer(users=ACL_USERS, tls=certificates.trusted, tls_auth_clients="no") as server:
        yield server


@pytest.fixture(scope="module")
def mtls_server(certificates: Certificates) -> Iterator[RedisServer]:
    """Mutual TLS: a client must present a certificate signed by the CA.

    TLS 1.2 only: there the server refuses a client certificate inside the handshake, so the client
    always reads the server's alert. Under TLS 1.3 the refusal comes after the handshake and may be
    read as a bare EOF (see ``test_tls.py``).
    """
    _need("redis-server", f"the security tests start their own redis-server; {INSTALL_REDIS_SERVER}")
    server = RedisServer(
        users=ACL_USERS, tls=certificates.trusted, tls_auth_clients="yes", args=("--tls-protocols", "TLSv1.2")
    )
    with server:
        yield server


def server_config(server: RedisServer, **settings: Any) -> RedisCacheConfig:
    """A config reaching ``server`` by host and port (TLS from ``ssl``/``ssl_*`` settings)."""
    return RedisCacheConfig(
        **{
            "enabled": True,
            "host": server.host,
            "port": server.port,
            "key_prefix": "app:" + unique_prefix(),
            "socket_timeout": 1.0,
            "socket_connect_timeout": 1.0,
            "retries": 0,
            **settings,
        }
    )


@pytest.fixture
def make_provider() -> Iterator[MakeProvider]:
    """Builds the provider services get (resilient wrapper) from a config; closes them after."""
    built: list[ResilientCacheProvider] = []

    def make(config: RedisCacheConfig) -> ResilientCacheProvider:
        built.append(wrapped(config))
        return built[-1]

    yield make
    for provider in built:
        provider.close()


def tls_files(certificates: Certificates, **overrides: Path | None) -> dict[str, Any]:
    """``ssl: true`` with the trusted CA and client certificate, unless overridden."""
    files: dict[str, str | None] = {
        key: str(value) for key, value in certificates.trusted.client_kwargs().items()
    }
    files.update({key: str(value) if value else None for key, value in overrides.items()})
    return {"ssl": True, **files}
