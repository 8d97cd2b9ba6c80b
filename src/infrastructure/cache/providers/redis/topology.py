"""What ``get_stats()`` and ``health()`` show of a cluster or sentinel topology: nodes and their roles.

Asked live, in a round trip or two: ``CLUSTER NODES`` and ``CLUSTER INFO`` of one cluster node
(the cluster's own view, failed nodes included), or the sentinels' current master and its live
replicas. A node is ``primary``, ``replica of <primary>``, with ``, failed`` or ``, suspected``
when the cluster says so. A standalone server adds nothing.

The transport of each mode asks with the view function that fits it (:func:`cluster_view`,
:func:`sentinel_view`); :func:`describe` asks any transport.
"""

from __future__ import annotations

from typing import Any, cast

import redis.cluster
import redis.sentinel

from src.infrastructure.cache.providers.redis.errors import BACKEND_ERRORS, translate
from src.infrastructure.cache.providers.redis.transport import SyncTransport


def describe(transport: SyncTransport, mode: str, server: str) -> dict[str, Any]:
    """``{"topology": {"mode": mode, ...}}``, or ``{}`` for a standalone server. Never raises: a
    failure to ask is reported as ``{"topology": {"mode": ..., "error": ...}}``."""
    try:
        view = transport.topology()
    except BACKEND_ERRORS as exc:
        view = {"error": str(translate(exc, "topology", server))}
    return {} if view is None else {"topology": {"mode": mode, **view}}


def serving(report: dict[str, Any]) -> bool:
    """Whether a :func:`describe` result says every slot (or the master) is served."""
    topology = report.get("topology", {})
    return "error" not in topology and topology.get("cluster_state", "ok") == "ok"


def cluster_view(cluster: redis.cluster.RedisCluster) -> dict[str, Any]:
    """The cluster's state, its number of primaries and each node's role, as one node sees them.
    Raises redis-py's errors, cluster-only ones included (the caller translates those)."""
    state = cluster.cluster_info().get("cluster_state")
    nodes = cast(dict[str, dict[str, Any]], cluster.cluster_nodes())
    by_id = {details["node_id"]: address for address, details in nodes.items()}
    described = sorted((_cluster_role(details, by_id), address) for address, details in nodes.items())
    roles = {address: role for role, address in described}  # primaries first
    primaries = sum(role.startswith("primary") for role in roles.values())
    return {"cluster_state": state, "primaries": primaries, "nodes": roles}


def _cluster_role(details: dict[str, Any], by_id: dict[str, str]) -> str:
    flags = str(details.get("flags", "")).split(",")
    role = "primary" if "master" in flags else f"replica of {by_id.get(details.get('master_id', ''), '?')}"
    if "fail" in flags:
        role += ", failed"
    elif "fail?" in flags:
        role += ", suspected"
    return role


def sentinel_view(
    sentinel: redis.sentinel.Sentinel, service_name: str, sentinels: tuple[str, ...]
) -> dict[str, Any]:
    """The master the sentinels name for ``service_name`` and its live replicas."""
    host, port = sentinel.discover_master(service_name)  # type: ignore[no-untyped-call]
    nodes = {f"{host}:{port}": "primary"}
    for replica_host, replica_port in sentinel.discover_slaves(service_name):  # type: ignore[no-untyped-call]
        nodes[f"{replica_host}:{replica_port}"] = f"replica of {host}:{port}"
    return {"service_name": service_name, "sentinels": list(sentinels), "nodes": nodes}
