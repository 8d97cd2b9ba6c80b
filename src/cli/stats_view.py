"""``get_stats()`` for people: whose counters they are, in lines that fit 80 columns. No I/O here.

Every counter of ``get_stats()`` belongs to the process that made the calls: ``agent-cache stats``
shows its own (zero until it makes calls), never a service's. Only the size of a remote cache is
the server's. The text says so first, then shows the counters grouped as an operator reads them;
keys it does not know (a feature added later) are still shown, as ``key  value``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WIDTH = 80
LABEL = 18

#: The keys of ``get_stats()`` the grouped lines below show; any other key is shown as it is.
_SHOWN = {
    "provider", "hits", "misses", "hit_rate", "sets", "deletes", "errors", "errors_by_kind",
    "evictions", "expirations", "size", "max_size", "compute", "server", "db", "key_prefix",
    "parser", "pool", "async_pools", "connections_shared_by", "mode", "topology", "resilience",
    "fallback",
}  # fmt: skip
_COMPUTE = (
    ("computes", "computed"),
    ("compute_errors", "failed"),
    ("lock_waits", "lock waits"),
    ("lock_timeouts", "lock timeouts"),
    ("stale_served", "stale served"),
    ("early_refreshes", "early refreshes"),
)


@dataclass(frozen=True)
class SizeReading:
    """What ``agent-cache stats`` learnt of the cache's size: ``entries``, or why not (``error``);
    ``remote``: the size is the server's (asked now), else this process's own."""

    entries: int | None
    remote: bool
    error: str | None = None


def field(label: str, text: str, width: int = WIDTH) -> list[str]:
    """``label`` in a column of its own, ``text`` wrapped beside it within ``width`` columns."""
    indent = " " * LABEL
    lines = textwrap.wrap(
        text, width=width, initial_indent=f"  {label:<{LABEL - 2}}", subsequent_indent=indent
    )
    return lines or [f"  {label}"]


def paragraph(text: str, width: int = WIDTH) -> list[str]:
    return textwrap.wrap(text, width=width)


def number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def counter_lines(stats: Mapping[str, Any]) -> list[str]:
    """The counters of ``get_stats()``, grouped, each group one field (wrapped at 80 columns)."""
    lookups = stats.get("hits", 0) + stats.get("misses", 0)
    rate = f"{stats['hits'] / lookups:.1%}" if lookups else "-"
    lines = field(
        "lookups",
        f"{number(stats.get('hits', 0))} hits, {number(stats.get('misses', 0))} misses (hit rate {rate})",
    )
    lines += field(
        "writes", f"{number(stats.get('sets', 0))} sets, {number(stats.get('deletes', 0))} deletes"
    )
    kinds = ", ".join(f"{count} {kind}" for kind, count in stats.get("errors_by_kind", {}).items())
    lines += field("errors", f"{number(stats.get('errors', 0))}" + (f" ({kinds})" if kinds else ""))
    lines += field(
        "expiry",
        f"{number(stats.get('evictions', 0))} evicted, {number(stats.get('expirations', 0))} expired",
    )
    if isinstance(stats.get("compute"), Mapping):
        compute = stats["compute"]
        lines += field(
            "get_or_set", ", ".join(f"{number(compute.get(key, 0))} {label}" for key, label in _COMPUTE)
        )
    lines += _connection_lines(stats)
    if isinstance(stats.get("resilience"), Mapping):
        lines += _policy_lines(stats["resilience"])
    if isinstance(stats.get("fallback"), Mapping):
        lines += _fallback_lines(stats["fallback"])
    for key, value in stats.items():
        if key not in _SHOWN:
            lines += field(str(key), plain(value))
    return lines


def _connection_lines(stats: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    pool = stats.get("pool")
    if isinstance(pool, Mapping):
        text = f"{pool.get('in_use', 0)} in use, {pool.get('idle', 0)} idle"
        text += f" of {number(pool.get('max_connections', '?'))}"
        loops = stats.get("async_pools")
        if isinstance(loops, Mapping) and loops.get("event_loops"):
            text += f"; async: {loops['in_use']} in use, {loops['idle']} idle on {loops['event_loops']} loops"
        shared = stats.get("connections_shared_by")
        if shared and shared != 1:
            text += f"; shared by {shared} caches"
        lines += field("connections", text)
    if isinstance(stats.get("topology"), Mapping):
        lines += field("topology", plain(stats["topology"]))
    return lines


def _policy_lines(policy: Mapping[str, Any]) -> list[str]:
    circuit = policy.get("circuit", {})
    state = circuit.get("state", "?")
    text = (
        f"on_error={policy.get('on_error')}; circuit {state}, opened {_times(circuit.get('times_opened', 0))}"
    )
    if state != "closed":
        text += f", next probe in {circuit.get('retry_in_seconds', 0):g} s"
    text += (
        f"; {number(policy.get('degraded_calls', 0))} calls answered by the policy; invalidations: "
        f"{policy.get('pending_invalidations', 0)} pending, "
        f"{number(policy.get('invalidations_replayed', 0))} replayed"
    )
    return field("failure policy", text)


def _fallback_lines(fallback: Mapping[str, Any]) -> list[str]:
    size = f", {number(fallback['size'])} entries" if "size" in fallback else ""
    text = (
        f"{number(fallback.get('hits', 0))} hits, {number(fallback.get('misses', 0))} misses, "
        f"{number(fallback.get('sets', 0))} sets{size} (in-process; emptied when the backend answers again)"
    )
    return field("fallback", text)


def _times(count: int) -> str:
    return {0: "never", 1: "once"}.get(count, f"{number(count)} times")


def plain(value: Any) -> str:
    """``value`` as short text: mappings as ``key=value, ...``, lists in brackets."""
    if isinstance(value, Mapping):
        return ", ".join(f"{key}={plain(item)}" for key, item in value.items()) or "-"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(plain(item) for item in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return number(value)


def where(stats: Mapping[str, Any]) -> str:
    """Where the cache lives: ``in this process`` or its server, mode, db and key prefix."""
    if "server" not in stats:
        return "in this process"
    mode = stats.get("mode", "standalone")
    return (
        f"at {stats['server']} ({mode}, db {stats.get('db', 0)}), key prefix {stats.get('key_prefix', '')!r}"
    )


def fallback_summary(provider: str, stats: Mapping[str, Any]) -> str | None:
    """One plain sentence when the failure policy answered calls (the backend was unavailable)."""
    policy = stats.get("resilience")
    if not isinstance(policy, Mapping) or not policy.get("degraded_calls"):
        return None
    calls, on_error = number(policy["degraded_calls"]), policy.get("on_error")
    state = policy.get("circuit", {}).get("state", "?")
    if on_error == "fallback":
        fallback = stats.get("fallback", {})
        return (
            f"SERVED BY THE FALLBACK: {provider} was unavailable (circuit {state}), so the in-process "
            f"fallback answered {calls} calls ({number(fallback.get('hits', 0))} hits, "
            f"{number(fallback.get('misses', 0))} misses, {number(fallback.get('sets', 0))} sets). "
            f"Its entries are dropped when {provider} answers again."
        )
    if on_error == "ignore":
        outcome = f"on_error=ignore answered {calls} calls: reads missed, writes were dropped"
    else:
        outcome = f"on_error={on_error}: {calls} calls raised CacheUnavailableError"
    return f"DEGRADED: {provider} was unavailable (circuit {state}); {outcome}."


def stats_report(cache: str, stats: Mapping[str, Any], size: SizeReading, pid: int) -> str:
    """``agent-cache stats`` for people: what the cache is, its size and whose counters these are."""
    lines = [*paragraph(f"cache {cache!r}: {stats.get('provider', '?')} provider {where(stats)}"), ""]
    if size.remote:
        lines += ["Size, asked of the server now"]
        found = (
            f"{number(size.entries)} keys under {stats.get('key_prefix', '')!r}" if size.error is None else ""
        )
        lines += field("entries", found or f"unavailable: {size.error}")
        lines += [""]
        lines += paragraph(
            f"Counters of this process only (pid {pid}: this agent-cache command). They count its own "
            "calls, not a service's: each process keeps its own, in its get_stats() and its metrics "
            "(docs/metrics.md)."
        )
    else:
        lines += paragraph(
            f"Size and counters of this process only (pid {pid}: this agent-cache command). A memory cache "
            "lives inside each process that uses it: a service's entries and counters are in that "
            "service, in its get_stats() and its metrics (docs/metrics.md)."
        )
        capacity = f" of {number(stats['max_size'])}" if "max_size" in stats else ""
        lines += field(
            "entries", f"{number(size.entries)}{capacity}" if size.error is None else str(size.error)
        )
    lines += counter_lines(stats)
    summary = fallback_summary(str(stats.get("provider", cache)), stats)
    if summary:
        lines += ["", *paragraph(summary)]
    return "\n".join(lines)


def stats_document(cache: str, stats: Mapping[str, Any], size: SizeReading, pid: int) -> dict[str, Any]:
    """``agent-cache stats --format json``: ``get_stats()`` and ``size`` at the top (as before), with
    ``cache`` and ``scope``: whose counters (this process, its pid) and whose size (server or process)."""
    return {
        "cache": cache,
        "scope": {"counters": "process", "pid": pid, "size": "server" if size.remote else "process"},
        **stats,
        "size": size.entries,
        **({"size_error": size.error} if size.error is not None else {}),
    }
