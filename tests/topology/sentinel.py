"""A Sentinel-managed master: 1 master, 1 replica and 3 sentinels, ``redis-server`` processes on loopback.

Data nodes and sentinels have different passwords, so the tests prove the provider keeps the two
sets of credentials apart. ``down-after-milliseconds`` and ``failover-timeout`` are short, so a
killed master is replaced within seconds. Persistence is off; every file lives in temporary
directories, removed by ``stop``.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redis

from tests.redis_servers import NoRedisServerError, RedisServer

SERVICE_NAME = "agent-cache-master"
DATA_PASSWORD = "data-secret-5d1c"
SENTINEL_PASSWORD = "sentinel-secret-8a2f"
#: Milliseconds of silence before a sentinel thinks the master is down.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 2000


class RedisSentinelTopology:
    """A master, its replicas and the sentinels that watch them; started and checked ready."""

    def __init__(self, replicas: int = 1, sentinels: int = 3) -> None:
        data_args: tuple[str, ...] = ("--requirepass", DATA_PASSWORD, "--masterauth", DATA_PASSWORD)
        # Start a replica's first sync at once instead of waiting 5 s for more replicas to batch.
        data_args += ("--repl-diskless-sync-delay", "0")
        self.master = RedisServer(args=data_args)
        replica_args = (*data_args, "--replicaof", self.master.host, str(self.master.port))
        self.replicas = [RedisServer(args=replica_args) for _ in range(replicas)]
        self._confdir = Path(tempfile.mkdtemp(prefix="agent-cache-sentinel-"))
        self.sentinels = [RedisServer(binary=self._sentinel_binary(i)) for i in range(sentinels)]

    def __enter__(self) -> RedisSentinelTopology:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    @property
    def data_nodes(self) -> list[RedisServer]:
        return [self.master, *self.replicas]

    @property
    def sentinel_addresses(self) -> tuple[str, ...]:
        """Every sentinel as ``host:port``, as the provider's ``sentinels`` setting takes them."""
        return tuple(f"{server.host}:{server.port}" for server in self.sentinels)

    def start(self, timeout: float = 20.0) -> RedisSentinelTopology:
        """Start the data nodes, then the sentinels, and wait until every sentinel sees them all."""
        started = time.monotonic()
        try:
            for server in [*self.data_nodes, *self.sentinels]:
                server.start()
            self.wait_until_ready(timeout - (time.monotonic() - started))
        except (NoRedisServerError, TimeoutError) as exc:
            self.stop()
            raise NoRedisServerError(f"could not start the Sentinel topology: {exc}") from exc
        except BaseException:  # whatever else went wrong, no process outlives the attempt
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in [*self.sentinels, *self.data_nodes]:
            server.stop()
        shutil.rmtree(self._confdir, ignore_errors=True)

    @staticmethod
    def data_client(server: RedisServer) -> redis.Redis:
        return server.client(password=DATA_PASSWORD, socket_timeout=2, socket_connect_timeout=2)

    @staticmethod
    def sentinel_client(server: RedisServer) -> redis.Redis:
        return server.client(password=SENTINEL_PASSWORD, socket_timeout=2, socket_connect_timeout=2)

    def current_master(self) -> RedisServer:
        """The data node the first sentinel names as master now."""
        with self.sentinel_client(self.sentinels[0]) as client:
            host, port = client.sentinel_get_master_addr_by_name(SERVICE_NAME)
        address = (host.decode() if isinstance(host, bytes) else str(host), int(port))
        return next(server for server in self.data_nodes if (server.host, server.port) == address)

    def restart_as_replica(self, server: RedisServer, timeout: float = 20.0) -> float:
        """Bring a killed data node back as a replica of the current master, as an operator would
        (a node restarted as master would wait for the sentinels' next check, up to 10 s, to be
        demoted), and wait until the setup is ready again; return the seconds waited."""
        master = self.current_master()
        args = list(server.args)
        if "--replicaof" in args:
            del args[args.index("--replicaof") : args.index("--replicaof") + 3]
        server.args = (*args, "--replicaof", master.host, str(master.port))
        server.restart()
        return self.wait_until_ready(timeout)

    def wait_until_ready(self, timeout: float = 20.0) -> float:
        """Poll until every sentinel agrees on a healthy master and knows the replicas and the other
        sentinels, and the master's live replicas are in sync; return the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self._ready():
                return time.monotonic() - started
            time.sleep(0.05)
        raise TimeoutError(f"the sentinels did not agree on a healthy master within {timeout} s")

    def _ready(self) -> bool:
        try:
            master = self.current_master()
            alive_replicas = [node for node in self.data_nodes if node.is_running() and node is not master]
            for sentinel in self.sentinels:
                with self.sentinel_client(sentinel) as client:
                    state = client.sentinel_master(SERVICE_NAME)
                if (state["ip"], int(state["port"])) != (master.host, master.port):
                    return False
                if state["flags"] != "master" or state["num-other-sentinels"] < len(self.sentinels) - 1:
                    return False
                if state["num-slaves"] < len(alive_replicas):
                    return False
            with self.data_client(master) as client:
                info = client.info("replication")
            in_sync = info["role"] == "master" and info["connected_slaves"] >= len(alive_replicas)
            return bool(in_sync)
        except (redis.RedisError, OSError, StopIteration, KeyError):
            return False

    def _sentinel_binary(self, index: int) -> str:
        """An executable that runs ``redis-server <its sentinel.conf> --sentinel <RedisServer's options>``.

        redis-server takes a sentinel's config file (which Sentinel rewrites, so it must be
        writable) only as its first argument, before the options ``RedisServer`` passes; this
        small script puts it there, so the sentinels reuse ``RedisServer`` unchanged.
        """
        conf = self._confdir / f"sentinel-{index}.conf"
        lines = [
            f"sentinel monitor {SERVICE_NAME} {self.master.host} {self.master.port} 2",
            f"sentinel auth-pass {SERVICE_NAME} {DATA_PASSWORD}",
            f"sentinel down-after-milliseconds {SERVICE_NAME} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {SERVICE_NAME} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {SERVICE_NAME} 1",
            f"requirepass {SENTINEL_PASSWORD}",
            f"sentinel sentinel-pass {SENTINEL_PASSWORD}",
        ]
        conf.write_text("\n".join(lines) + "\n")
        script = self._confdir / f"sentinel-{index}.sh"
        script.write_text(f'#!/bin/sh\nexec redis-server "{conf}" --sentinel "$@"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return str(script)
