"""A throwaway ``redis-server`` for the benchmark: loopback, free port, no persistence, temp dir.

Started only when no server was given; stopped (and its directory removed) at the end. It holds
nothing but the benchmark's keys.
"""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redis

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


class ServerStartError(RuntimeError):
    """``redis-server`` is missing or did not answer in time."""


class BenchRedisServer:
    """A ``redis-server`` child process; use as a context manager."""

    def __init__(self, binary: str = "redis-server") -> None:
        self.binary = binary
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise ServerStartError("the server is not running")
        return self._process.pid

    def __enter__(self) -> BenchRedisServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> None:
        """Start on a free loopback port and wait for PING (a port taken meanwhile: try again)."""
        path = shutil.which(self.binary)
        if path is None:
            raise ServerStartError(
                f"{self.binary} is not on PATH: install it (apt-get install redis-server) or pass --redis-url"
            )
        self._workdir = Path(tempfile.mkdtemp(prefix="agent-cache-bench-"))
        for _ in range(3):
            self.port = _free_port()
            command = [path, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
            command += ["--dir", str(self._workdir), "--logfile", str(self._workdir / "redis.log")]
            self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
            if self._wait(timeout):
                logger.info("started %s on %s (pid %d)", self.binary, self.url, self._process.pid)
                return
            self._terminate()
        log = self._log_tail()
        self.stop()
        raise ServerStartError(f"{self.binary} did not start on a free port: {log}")

    def stop(self) -> None:
        """Terminate the server and remove its directory. Idempotent."""
        self._terminate()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _wait(self, timeout: float) -> bool:
        assert self._process is not None
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and self._process.poll() is None:
                try:
                    if client.ping():
                        return True
                except (redis.RedisError, OSError):
                    time.sleep(0.02)
            return False
        finally:
            client.close()

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def _log_tail(self) -> str:
        if self._workdir is None:
            return "(no log)"
        try:
            return " | ".join((self._workdir / "redis.log").read_text().splitlines()[-3:])
        except OSError:
            return "(no log)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port
