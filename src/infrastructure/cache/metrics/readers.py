"""How each observed metric reads its value from ``get_stats()``: one small function per shape.

A reader takes the dict ``get_stats()`` returned and yields ``(value, attributes)`` pairs; a section
the cache does not have (no failure policy, no near cache) yields nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from src.infrastructure.cache.metrics.attributes import ERROR_TYPE, MODEL, ON_ERROR, RESULT

Attributes = dict[str, str]
Reader = Callable[[Mapping[str, Any]], Iterator[tuple[float, Attributes]]]


def _section(stats: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    section = stats.get(name)
    return section if isinstance(section, Mapping) else None


def requests(stats: Mapping[str, Any]) -> Iterator[tuple[float, Attributes]]:
    """hits, misses, stale values served (``compute``), and errors by kind."""
    yield stats["hits"], {RESULT: "hit"}
    yield stats["misses"], {RESULT: "miss"}
    compute = _section(stats, "compute")
    if compute is not None:
        yield compute["stale_served"], {RESULT: "stale"}
    for kind, count in stats.get("errors_by_kind", {}).items():
        yield count, {RESULT: "error", ERROR_TYPE: str(kind)}


def counter(key: str) -> Reader:
    """The top-level counter ``key``."""

    def read(stats: Mapping[str, Any]) -> Iterator[tuple[float, Attributes]]:
        if key in stats:
            yield stats[key], {}

    return read


def in_section(section: str, key: str, attributes: Attributes | None = None) -> Reader:
    """``key`` of the section ``section``, with ``attributes``."""

    def read(stats: Mapping[str, Any]) -> Iterator[tuple[float, Attributes]]:
        found = _section(stats, section)
        if found is not None and key in found:
            yield found[key], dict(attributes or {})

    return read


def each(*readers: Reader) -> Reader:
    """What every one of ``readers`` reads, in turn."""

    def read(stats: Mapping[str, Any]) -> Iterator[tuple[float, Attributes]]:
        for reader in readers:
            yield from reader(stats)

    return read


def lookups_in(section: str) -> Reader:
    """The hits and misses of the section ``section`` (the fallback, the near cache)."""

    def read(stats: Mapping[str, Any]) -> Iterator[tuple[float, Attributes]]:
        found = _section(stats, section)
        if found is not None:
            yield found["hits"], {RESULT: "hit"}
            yield found["misses"], {RESULT: "miss"}

    return read


def fallback_active(stats: Mapping[str, Any]) -> Iterator[tuple[float, Attributes]]:
    """1 while the failure policy's circuit is not closed, else 0, with the policy."""
    policy = _section(stats, "resilience")
    if policy is not None:
        yield int(policy["circuit"]["state"] != "closed"), {ON_ERROR: str(policy["on_error"])}


def circuit_openings(stats: Mapping[str, Any]) -> Iterator[tuple[float, Attributes]]:
    """How many times the failure policy's circuit opened."""
    policy = _section(stats, "resilience")
    if policy is not None:
        yield policy["circuit"]["times_opened"], {}


def per_model(*keys: tuple[str, Attributes]) -> Reader:
    """Counters of the LLM-response cache's ``get_stats()["by_model"][model]``, by model; a key
    ``"saved.cost"`` reads ``figures["saved"]["cost"]``."""

    def read(stats: Mapping[str, Any]) -> Iterator[tuple[float, Attributes]]:
        for model, figures in (_section(stats, "by_model") or {}).items():
            for key, attributes in keys:
                found: Any = figures
                for part in key.split("."):
                    found = found[part]
                yield found, {MODEL: str(model), **attributes}

    return read
