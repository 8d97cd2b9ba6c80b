"""Real Redis servers for the tests: the session's server, and ``RedisServer`` for fault injection.

The session's server is, in order: the one ``$REDIS_URL`` names; a testcontainers Redis container
when a Docker engine answers; the ``redis-server`` binary on PATH, started on a free loopback port.
The suite never uses a server on the default port unless ``REDIS_URL`` says so, and never flushes
one: every test works under its own key prefix.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.config.sections import mask_url

REDIS_URL_ENV = "REDIS_URL"
#: For the tests' own clients: redis-py 8 would otherwise retry 10 times with up to 1 s between tries.
NO_RETRY = Retry(NoBackoff(), 0)
REDIS_IMAGE = "redis:7-alpine"

INSTALL_REDIS_SERVER = "install redis-server (apt-get install redis-server, brew install redis)"
HOW_TO_GET_ONE = (
    "the Redis tests need a Redis server and none was found. Either set REDIS_URL "
    "(e.g. REDIS_URL=redis://localhost:6379/15; tests only touch keys under their own 'test:<uuid>:' "
    f"prefix), or start a Docker engine (the suite then runs {REDIS_IMAGE} with testcontainers), "
    f"or {INSTALL_REDIS_SERVER} so the suite starts its own on a free port."
)


class NoRedisServerError(RuntimeError):
    """No Redis server could be found or started for the tests."""


@dataclass(frozen=True)
class RedisEndpoint:
    """Where the tests reach Redis. ``url`` may hold a password: show ``str(endpoint)`` instead."""

    url: str
    source: str

    def __str__(self) -> str:
        return f"{mask_url(self.url)} ({self.source})"

    @property
    def db(self) -> int:
        return int(urlsplit(self.url).path.strip("/") or 0)

    def config(self, **settings: Any) -> RedisCacheConfig:
        """A provider config for this server; ``settings`` are ``RedisCacheConfig`` fields."""
        return RedisCacheConfig(**{"enabled": True, "url": self.url, **settings})

    def client(self) -> redis.Redis:
        """A raw client, for tests that inspect server state."""
        return redis.Redis.from_url(self.url, retry=NO_RETRY, socket_timeout=5, socket_connect_timeout=5)


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a TLS server and of a client its CA signed (see ``tests/security/certs.py``)."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def server_args(self, auth_clients: str) -> list[str]:
        return [
            *("--tls-cert-file", str(self.server_cert), "--tls-key-file", str(self.server_key)),
            *("--tls-ca-cert-file", str(self.ca_cert), "--tls-auth-clients", auth_clients),
        ]

    def client_kwargs(self) -> dict[str, Any]:
        """redis-py (and ``RedisCacheConfig``) settings of a client that trusts the CA and has a cert."""
        return {
            "ssl_ca_certs": str(self.ca_cert),
            "ssl_certfile": str(self.client_cert),
            "ssl_keyfile": str(self.client_key),
        }


class RedisServer:
    """A ``redis-server`` process owned by the tests, on a loopback port, for fault injection.

    ``kill`` (SIGKILL), ``pause``/``resume`` (SIGSTOP/SIGCONT) and ``restart`` (same port) simulate
    crashes and hangs. Data is not persisted unless ``persistent``: then every write goes to an
    append-only file (fsync always) in the working directory, so a restarted server comes back
    with its old data, as a real one would. ``users`` are ACL rules (``"alice on >pw ~app:* +@all"``);
    ``tls`` serves TLS only (``--port 0``), ``tls_auth_clients`` ``yes``/``no``/``optional``.
    Use it as a context manager, or call ``start`` and ``stop``; ``stop`` also removes its directory.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        binary: str = "redis-server",
        args: tuple[str, ...] = (),
        persistent: bool = False,
        users: Sequence[str] = (),
        tls: TlsFiles | None = None,
        tls_auth_clients: str = "no",
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.binary = binary
        self.args = args
        self.persistent = persistent
        self.users = tuple(users)
        self.tls = tls
        self.tls_auth_clients = tls_auth_clients
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="agent-cache-redis-"))
        self._paused = False

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/0"

    def __repr__(self) -> str:
        state = "paused" if self._paused else "running" if self.is_running() else "stopped"
        return f"RedisServer(port={self.port}, {state})"

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server (unless it runs) and wait until it answers PING."""
        if self.is_running():
            return self
        command = [self.binary, "--bind", self.host, "--save", ""]
        if self.tls:
            command += [
                "--port",
                "0",
                "--tls-port",
                str(self.port),
                *self.tls.server_args(self.tls_auth_clients),
            ]
        else:
            command += ["--port", str(self.port)]
        command += (
            ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        )
        for rule in self.users:  # each word of an ACL rule is its own argument
            command += ["--user", *rule.split()]
        command += ["--dir", str(self._workdir), "--logfile", str(self._workdir / "redis.log"), *self.args]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._paused = False
        self._wait_until_ready(timeout)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (terminate, then kill) and remove its working directory."""
        self._end(signal.SIGTERM, timeout)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def kill(self) -> None:
        """Crash the server: SIGKILL, no shutdown. ``restart`` brings it back on the same port."""
        self._end(signal.SIGKILL, 5.0)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing answers."""
        self._signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """Unfreeze a paused server (SIGCONT)."""
        self._signal(signal.SIGCONT)
        self._paused = False

    def restart(self, timeout: float = 10.0) -> RedisServer:
        """Stop the server if it runs, then start it again on the same port (empty unless persistent)."""
        self._end(signal.SIGTERM, 5.0)
        return self.start(timeout)

    def client(self, **settings: Any) -> redis.Redis:
        """A raw client (with the TLS files, if any), for tests that inspect server state."""
        tls: dict[str, Any] = {"ssl": True, **self.tls.client_kwargs()} if self.tls else {}
        options = {"socket_timeout": 5, "socket_connect_timeout": 5, **tls, **settings}
        return redis.Redis(host=self.host, port=self.port, retry=NO_RETRY, **options)

    def ping(self) -> bool:
        """True if the server answers; a refusal of our anonymous PING (ACL, NOAUTH) is an answer too."""
        # The harness checks liveness, not identity: a test may serve a certificate no client trusts.
        identity = {"ssl_cert_reqs": "none", "ssl_check_hostname": False} if self.tls else {}
        client = self.client(socket_timeout=0.5, socket_connect_timeout=0.5, **identity)
        try:
            return bool(client.ping())
        except (redis.AuthenticationError, redis.ResponseError):
            return True
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def _signal(self, signum: signal.Signals) -> None:
        if not self.is_running():
            raise RuntimeError(f"{self!r} is not running")
        assert self._process is not None
        self._process.send_signal(signum)

    def _end(self, signum: signal.Signals, timeout: float) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        if self._paused:  # a stopped process cannot act on SIGTERM
            process.send_signal(signal.SIGCONT)
            self._paused = False
        process.send_signal(signum)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise NoRedisServerError(f"{self.binary} exited at start-up: {self._log_tail()}")
            if self.ping():
                return
            time.sleep(0.02)
        self._end(signal.SIGKILL, 5.0)
        raise NoRedisServerError(f"{self.binary} did not answer PING within {timeout} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return " | ".join((self._workdir / "redis.log").read_text().splitlines()[-5:])
        except OSError:
            return "(no log)"


def find_redis() -> tuple[RedisEndpoint, Callable[[], None]]:
    """The session's server and the function that releases it; raises :class:`NoRedisServerError`."""
    url = os.environ.get(REDIS_URL_ENV)
    if url:
        return RedisEndpoint(url, f"${REDIS_URL_ENV}"), lambda: None
    found = _from_docker()
    if found is not None:
        return found
    if shutil.which("redis-server"):
        server = _start_local_server()
        return RedisEndpoint(server.url, "redis-server started by the tests"), server.stop
    raise NoRedisServerError(HOW_TO_GET_ONE)


def _start_local_server() -> RedisServer:
    last_error: NoRedisServerError | None = None
    for _ in range(3):  # another process may grab the free port between probing and binding
        server = RedisServer()
        try:
            return server.start()
        except NoRedisServerError as exc:
            server.stop()
            last_error = exc
    assert last_error is not None
    raise last_error


def _from_docker() -> tuple[RedisEndpoint, Callable[[], None]] | None:
    """A Redis container, if a Docker engine answers within a second or two; else None, quickly."""
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return None
    try:
        from testcontainers.community.redis import RedisContainer
        from testcontainers.core.docker_client import DockerClient

        DockerClient(timeout=2).client.ping()
        container = RedisContainer(REDIS_IMAGE).start()
    except Exception:  # no engine, no image, no permission: fall back to the local binary
        return None
    url = f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"
    return RedisEndpoint(url, f"testcontainers {REDIS_IMAGE}"), container.stop
