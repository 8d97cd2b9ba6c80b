"""A Redis Cluster of ``redis-server`` processes on loopback ports: 3 primaries, 1 replica each.

Formed with ``redis-cli --cluster create``; persistence is off (the ``nodes.conf`` each node
writes lives in its temporary directory). ``cluster-node-timeout`` is short, so a killed primary
is replaced by its replica within a few seconds. Each node's cluster bus gets its own free port
(``cluster-port``) rather than Redis's default ``port + 10000``, which may be taken or out of range.
Nothing here sleeps longer than a poll interval.
"""

from __future__ import annotations

import subprocess
import time
from types import TracebackType

import redis

from tests.redis_servers import NO_RETRY, NoRedisServerError, RedisServer, free_port

#: Milliseconds before a silent node is flagged as failing; also paces replica promotion.
NODE_TIMEOUT_MS = 1000


def _node_args(node_timeout_ms: int) -> tuple[str, ...]:
    return (
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",  # relative to the node's own --dir
        "--cluster-node-timeout",
        str(node_timeout_ms),
        # A replica may always stand in for its primary, however long it was disconnected.
        "--cluster-replica-validity-factor",
        "0",
        # Start a replica's first sync at once instead of waiting 5 s for more replicas to batch.
        "--repl-diskless-sync-delay",
        "0",
    )


def node_client(server: RedisServer) -> redis.Redis:
    """A plain client of one node (not cluster-aware), for inspecting it."""
    return redis.Redis(
        host=server.host, port=server.port, retry=NO_RETRY, socket_timeout=2, socket_connect_timeout=2
    )


class RedisClusterTopology:
    """``primaries`` primaries with ``replicas`` replica each, started, joined and checked healthy."""

    def __init__(self, primaries: int = 3, replicas: int = 1, node_timeout_ms: int = NODE_TIMEOUT_MS) -> None:
        self.replicas = replicas
        self.servers = [
            RedisServer(args=(*_node_args(node_timeout_ms), "--cluster-port", str(free_port())))
            for _ in range(primaries * (replicas + 1))
        ]

    def __enter__(self) -> RedisClusterTopology:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    @property
    def startup_nodes(self) -> tuple[str, ...]:
        """Every node as ``host:port``, as the provider's ``startup_nodes`` setting takes them."""
        return tuple(f"{server.host}:{server.port}" for server in self.servers)

    def start(self, timeout: float = 30.0) -> RedisClusterTopology:
        """Start every node, form the cluster and wait until it serves every slot."""
        deadline = time.monotonic() + timeout
        try:
            for server in self.servers:
                server.start()
            command = ["redis-cli", "--cluster", "create", *self.startup_nodes]
            command += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
            subprocess.run(command, check=True, capture_output=True, timeout=timeout)
            self.wait_until_healthy(deadline - time.monotonic())
        except (subprocess.SubprocessError, NoRedisServerError, TimeoutError) as exc:
            self.stop()
            raise NoRedisServerError(f"could not form a Redis Cluster: {exc}") from exc
        except BaseException:  # whatever else went wrong, no process outlives the attempt
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def primaries(self) -> list[RedisServer]:
        """The running nodes that are primaries now, as each reports its own role."""
        return [server for server in self.running() if _role(server) == "master"]

    def running(self) -> list[RedisServer]:
        return [server for server in self.servers if server.is_running()]

    def restart(self, server: RedisServer, timeout: float = 20.0) -> float:
        """Bring a killed node back (it rejoins, as a replica if its slots moved meanwhile) and wait
        until the cluster is healthy again; return the seconds waited."""
        server.restart()
        return self.wait_until_healthy(timeout)

    def wait_until_healthy(self, timeout: float = 20.0) -> float:
        """Poll until every running node reports ``cluster_state:ok``, the expected number of
        primaries and replicas in sync; return the seconds waited. Raises ``TimeoutError``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.is_healthy():
                return time.monotonic() - started
            time.sleep(0.05)
        raise TimeoutError(f"the cluster did not become healthy within {timeout} s")

    def is_healthy(self) -> bool:
        """Every running node says ``cluster_state:ok``, there are as many primaries as at the
        start, and every replica is in sync with its primary."""
        try:
            running = self.running()
            for server in running:
                if cluster_info(server).get("cluster_state") != "ok":
                    return False
            expected_primaries = len(self.servers) // (self.replicas + 1)
            if len(self.primaries()) != expected_primaries:
                return False
            return all(_replica_in_sync(server) for server in running if _role(server) == "slave")
        except (redis.RedisError, OSError):
            return False


def cluster_info(server: RedisServer) -> dict[str, str]:
    """``CLUSTER INFO`` of one node, as a dict of strings."""
    with node_client(server) as client:
        text = client.execute_command("CLUSTER", "INFO")
    lines = (text.decode() if isinstance(text, bytes) else str(text)).splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def _role(server: RedisServer) -> str:
    with node_client(server) as client:
        role: str = client.info("replication")["role"]
        return role


def _replica_in_sync(server: RedisServer) -> bool:
    with node_client(server) as client:
        info = client.info("replication")
        return info.get("master_link_status") == "up" and not info.get("master_sync_in_progress")


class RoundTrips:
    """What each primary served between ``__enter__`` and ``__exit__``: read events and commands.

    ``reads`` is the growth of ``total_reads_processed``: the times the node read a request off a
    socket, so one per round trip of a pipeline. ``commands`` is the growth of each command's
    ``INFO commandstats`` calls. One persistent connection per node does the measuring; its own
    ``INFO`` at the end is subtracted. A replica's once-a-second ``REPLCONF ACK`` may add a read.
    """

    def __init__(self, cluster: RedisClusterTopology) -> None:
        self._clients = {server.port: node_client(server) for server in cluster.primaries()}
        self.reads: dict[int, int] = {}
        self.commands: dict[int, dict[str, int]] = {}

    def __enter__(self) -> RoundTrips:
        self._before = {port: _counters(client) for port, client in self._clients.items()}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for port, client in self._clients.items():
            reads, calls = _counters(client)
            before_reads, before_calls = self._before[port]
            self.reads[port] = reads - before_reads - 1
            grown = {name: count - before_calls.get(name, 0) for name, count in calls.items()}
            self.commands[port] = {name: count for name, count in grown.items() if count and name != "info"}
            client.close()

    def total(self, command: str) -> int:
        return sum(calls.get(command, 0) for calls in self.commands.values())


def _counters(client: redis.Redis) -> tuple[int, dict[str, int]]:
    info = client.info("stats", "commandstats")
    calls = {
        key.removeprefix("cmdstat_"): value["calls"]
        for key, value in info.items()
        if key.startswith("cmdstat_")
    }
    return int(info["total_reads_processed"]), calls
