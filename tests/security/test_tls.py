"""TLS against real redis-server processes with test-made certificates: verified connections and
client certificates work; an untrusted or mismatched server certificate and a refused client
certificate are CacheAccessError under every policy, never a silent fallback."""

from __future__ import annotations

import asyncio

import pytest

from src.interfaces.llm.cache import CacheAccessError, CacheError, CacheUnavailableError
from tests.redis_servers import RedisServer
from tests.security.certs import Certificates
from tests.security.conftest import AGENT_PASSWORD, SECRETS, MakeProvider, server_config, tls_files

pytestmark = pytest.mark.redis

POLICIES = ["fallback", "ignore", "raise"]
AGENT = {"username": "agent", "password": AGENT_PASSWORD}


def assert_works(make_provider: MakeProvider, server: RedisServer, **settings: object) -> None:
    cache = make_provider(server_config(server, **AGENT, **settings))
    cache.set("k", [1, "tls"])
    assert cache.get("k") == [1, "tls"]
    assert asyncio.run(cache.get_async("k")) == [1, "tls"]
    assert cache.health()["healthy"] is True


def assert_refused(
    make_provider: MakeProvider, server: RedisServer, on_error: str, **settings: object
) -> None:
    cache = make_provider(server_config(server, **AGENT, on_error=on_error, **settings))
    for call in (
        lambda: cache.get("k"),
        lambda: cache.set("k", 1),
        lambda: asyncio.run(cache.set_async("k", 1)),
    ):
        with pytest.raises(CacheAccessError, match=r"\(tls\)") as raised:
            call()
        assert not any(secret in str(raised.value) for secret in SECRETS)
    assert cache.get_stats()["resilience"]["circuit"]["times_opened"] == 0
    assert cache.health()["healthy"] is False


def test_tls_with_ca_verification(
    tls_server: RedisServer, make_provider: MakeProvider, certificates: Certificates
) -> None:
    assert_works(make_provider, tls_server, ssl=True, ssl_ca_certs=str(certificates.trusted.ca_cert))


def test_tls_by_rediss_url(
    tls_server: RedisServer, make_provider: MakeProvider, certificates: Certificates
) -> None:
    url = f"rediss://agent:{AGENT_PASSWORD}@{tls_server.host}:{tls_server.port}/0"
    cache = make_provider(server_config(tls_server, url=url, ssl_ca_certs=str(certificates.trusted.ca_cert)))
    cache.set("k", 1)
    assert cache.get("k") == 1


def test_mutual_tls_with_a_client_certificate(
    mtls_server: RedisServer, make_provider: MakeProvider, certificates: Certificates
) -> None:
    assert_works(make_provider, mtls_server, **tls_files(certificates))


@pytest.mark.parametrize("on_error", POLICIES)
def test_an_untrusted_server_certificate_is_an_access_error(
    tls_server: RedisServer, make_provider: MakeProvider, certificates: Certificates, on_error: str
) -> None:
    assert_refused(make_provider, tls_server, on_error, ssl=True, ssl_ca_certs=str(certificates.rogue_cert))


@pytest.mark.parametrize("on_error", POLICIES)
def test_a_server_certificate_for_another_host_is_an_access_error(
    certificates: Certificates, make_provider: MakeProvider, on_error: str
) -> None:
    trusted = certificates.trusted
    wrong_host = type(trusted)(
        trusted.ca_cert,
        certificates.wrong_host_cert,
        certificates.wrong_host_key,
        trusted.client_cert,
        trusted.client_key,
    )
    with RedisServer(tls=wrong_host) as server:
        assert_refused(make_provider, server, on_error, ssl=True, ssl_ca_certs=str(trusted.ca_cert))


@pytest.mark.parametrize("on_error", POLICIES)
@pytest.mark.parametrize("client_cert", ["none", "rogue"])
def test_a_refused_client_certificate_is_an_access_error(
    mtls_server: RedisServer,
    make_provider: MakeProvider,
    certificates: Certificates,
    on_error: str,
    client_cert: str,
) -> None:
    if client_cert == "none":
        files = tls_files(certificates, ssl_certfile=None, ssl_keyfile=None)
    else:
        files = tls_files(
            certificates, ssl_certfile=certificates.rogue_cert, ssl_keyfile=certificates.rogue_key
        )
    assert_refused(make_provider, mtls_server, on_error, **files)


def test_ssl_cert_reqs_none_turns_verification_off(
    tls_server: RedisServer, make_provider: MakeProvider, certificates: Certificates
) -> None:
    """Documented, not recommended: the client then trusts any server certificate."""
    assert_works(
        make_provider, tls_server, ssl=True, ssl_ca_certs=str(certificates.rogue_cert), ssl_cert_reqs="none"
    )


def test_under_tls_1_3_a_refused_client_certificate_may_look_like_a_dropped_connection(
    certificates: Certificates, make_provider: MakeProvider
) -> None:
    """The documented limit: TLS 1.3 clients finish the handshake before the server checks their
    certificate, so the server's alert can be lost to the connection closing under it. redis-py
    then reports a bare EOF - what a crashed server looks like - and it counts as unavailable."""
    with RedisServer(tls=certificates.trusted, tls_auth_clients="yes") as server:
        cache = make_provider(
            server_config(
                server, on_error="raise", **tls_files(certificates, ssl_certfile=None, ssl_keyfile=None)
            )
        )
        seen = set()
        for _ in range(10):
            with pytest.raises(CacheError) as raised:
                cache.get("k")
            assert isinstance(raised.value, CacheAccessError | CacheUnavailableError)
            seen.add(type(raised.value).__name__)
        print(f"TLS 1.3, no client certificate: {sorted(seen)}")
