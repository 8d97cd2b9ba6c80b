"""What ``get_stats()`` and ``health()`` show of a cluster or sentinel topology: nodes and their roles.

Asked live, in a round trip or two: ``CLUSTER NODES`` and ``CLUSTER INFO`` of one cluster node
(the cluster's own view, failed nodes included), or the sentinels' current master and its live
replicas. A node is ``primary``, ``replica of <primary>``, with ``, failed`` or ``, suspected``
when the cluster says so. A standalone server adds nothing.
"""

from __future__ import annotations

from typing import Any, cast

import redis
import redis.sentinel

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.providers.redis.client_factory import SyncClient
from src.infrastructure.cache.providers.redis.cluster_client import CLUSTER_ERRORS, ClusterClient, translated
from src.infrastructure.cache.providers.redis.errors import BACKEND_ERRORS, translate


def describe(client: SyncClient, config: RedisCacheConfig, server: str) -> dict[str, Any]:
    """``{"topology": {...}}``, or ``{}`` for a standalone server. Never raises: a failure to ask is
    reported as ``{"topology": {"mode": ..., "error": ...}}``."""
    if config.mode == "standalone":
        return {}
    try:
        view = _cluster_view(client) if isinstance(client, ClusterClient) else _sentinel_view(client, config)
    except BACKEND_ERRORS as exc:
        view = {"error": str(translate(exc, "topology", server))}
    return {"topology": {"mode": config.mode, **view}}


def serving(report: dict[str, Any]) -> bool:
    """Whether a :func:`describe` result says every slot (or the master) is served."""
    topology = report.get("topology", {})
    return "error" not in topology and topology.get("cluster_state", "ok") == "ok"


def _cluster_view(client: ClusterClient) -> dict[str, Any]:
    try:
        cluster = client.cluster()
        state = cluster.cluster_info().get("cluster_state")
        nodes = cast(dict[str, dict[str, Any]], cluster.cluster_nodes())
    except CLUSTER_ERRORS as exc:
        raise translated(exc) from exc
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


def _sentinel_view(client: SyncClient, config: RedisCacheConfig) -> dict[str, Any]:
    assert isinstance(client, redis.Redis)
    pool = client.connection_pool
    assert isinstance(pool, redis.sentinel.SentinelConnectionPool)
    sentinel = pool.sentinel_manager
    host, port = sentinel.discover_master(config.service_name)
    nodes = {f"{host}:{port}": "primary"}
    for replica_host, replica_port in sentinel.discover_slaves(config.service_name):
        nodes[f"{replica_host}:{replica_port}"] = f"replica of {host}:{port}"
    return {"service_name": config.service_name, "sentinels": list(config.sentinels), "nodes": nodes}
