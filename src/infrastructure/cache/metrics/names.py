"""Every metric agent-cache exports: name, instrument, unit, attributes, and where its value comes from.

One table, read by the code that creates the instruments and checked against ``docs/metrics.md`` by a
test, so the documented names cannot drift from the exported ones. There are no OpenTelemetry
semantic conventions for caches yet; the names follow their style: a namespace of our own
(``agent_cache.``), dot-separated, plural nouns for counts, UCUM units, attributes under ``cache.``
(plus the conventions' ``error.type``; see :mod:`.attributes`).

Only :data:`DURATION` is measured on the call path. Every other metric is *observed*: read from the
cache's ``get_stats()`` when a reader collects, so it costs nothing per cache call (its reader is
in :mod:`.readers`). A new feature exports its counters by adding rows here that read its section
of ``get_stats()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from src.infrastructure.cache.metrics import readers
from src.infrastructure.cache.metrics.attributes import (
    CACHE_NAME,
    ERROR_TYPE,
    MODEL,
    ON_ERROR,
    OPERATION,
    RESULT,
    USAGE_KIND,
)
from src.infrastructure.cache.metrics.readers import Reader

Instrument = Literal["histogram", "counter", "updowncounter", "gauge"]
#: What a metric reads: a cache's ``get_stats()``, or the LLM-response cache's.
Source = Literal["cache", "llm"]

#: Bucket boundaries (seconds) advised for the duration histogram: 10 µs (an in-process hit) to
#: 10 s (``get_or_set`` waiting for a model's answer). The SDK's default boundaries are for
#: milliseconds and would put every cache call in the first bucket.
DURATION_BUCKETS = (
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric. ``attributes`` are those beside ``cache.name`` (every metric has it);
    ``when`` says which caches export it; ``read`` is None only for the measured histogram;
    ``source`` is the kind of component whose ``get_stats()`` it reads."""

    name: str
    instrument: Instrument
    unit: str
    attributes: tuple[str, ...]
    description: str
    when: str
    read: Reader | None = None
    source: Source = "cache"


# ---------------------------------------------------------------- the table

_EVERY = "every cache"
_POLICY = "caches with a failure policy (redis)"
_NEAR = "when the near cache is enabled (near_cache.enabled)"
_LLM = "when the LLM-response cache is used (resolver.get(ILLMResponseCache)); cache.name: the cache under it"

DURATION = MetricSpec(
    "agent_cache.operation.duration",
    "histogram",
    "s",
    (OPERATION, ERROR_TYPE),
    "Duration of each cache call as its caller saw it (wrappers, fallback and, for get_or_set, the "
    "computation included). error.type is set only on calls that raised.",
    "every cache, when an OpenTelemetry SDK is configured before the cache is built",
)

OBSERVED = (
    MetricSpec(
        "agent_cache.requests",
        "counter",
        "{request}",
        (RESULT, ERROR_TYPE),
        "Keys looked up in the cache's own provider, by result: hit, miss (get, get_or_set, get_many per "
        "key; exists is no lookup); stale: a stale value served by get_or_set; error: a failed backend "
        "call, by error.type. Lookups the fallback answered are agent_cache.fallback.requests.",
        _EVERY,
        readers.requests,
    ),
    MetricSpec(
        "agent_cache.sets", "counter", "{entry}", (), "Entries written.", _EVERY, readers.counter("sets")
    ),
    MetricSpec(
        "agent_cache.deletes",
        "counter",
        "{entry}",
        (),
        "Entries deleted.",
        _EVERY,
        readers.counter("deletes"),
    ),
    MetricSpec(
        "agent_cache.evictions",
        "counter",
        "{entry}",
        (),
        "Live entries dropped to make room (LRU).",
        _EVERY,
        readers.counter("evictions"),
    ),
    MetricSpec(
        "agent_cache.expirations",
        "counter",
        "{entry}",
        (),
        "Expired entries removed.",
        _EVERY,
        readers.counter("expirations"),
    ),
    MetricSpec(
        "agent_cache.entries",
        "updowncounter",
        "{entry}",
        (),
        "Entries held now.",
        "in-process caches (memory); a server's size is not read at collection",
        readers.counter("size"),
    ),
    MetricSpec(
        "agent_cache.compute.computations",
        "counter",
        "{computation}",
        (RESULT,),
        "Computations get_or_set ran, by result: ok, or error (the computation raised).",
        _EVERY,
        readers.each(
            readers.in_section("compute", "computes", {RESULT: "ok"}),
            readers.in_section("compute", "compute_errors", {RESULT: "error"}),
        ),
    ),
    MetricSpec(
        "agent_cache.compute.lock_waits",
        "counter",
        "{wait}",
        (),
        "get_or_set callers that waited for another caller's computation (this process or another).",
        _EVERY,
        readers.in_section("compute", "lock_waits"),
    ),
    MetricSpec(
        "agent_cache.compute.lock_timeouts",
        "counter",
        "{wait}",
        (),
        "Of those waits, the ones that reached wait_timeout (the caller then computed itself).",
        _EVERY,
        readers.in_section("compute", "lock_timeouts"),
    ),
    MetricSpec(
        "agent_cache.compute.early_refreshes",
        "counter",
        "{refresh}",
        (),
        "Refreshes get_or_set started before expiry (XFetch).",
        _EVERY,
        readers.in_section("compute", "early_refreshes"),
    ),
    MetricSpec(
        "agent_cache.fallback.active",
        "gauge",
        "{state}",
        (ON_ERROR,),
        "1 while the circuit is open and the failure policy answers instead of the backend (on_error "
        "fallback: the in-process fallback serves; ignore: reads miss; raise: calls raise), else 0.",
        _POLICY,
        readers.fallback_active,
    ),
    MetricSpec(
        "agent_cache.fallback.calls",
        "counter",
        "{call}",
        (),
        "Calls answered by the failure policy while the circuit was open.",
        _POLICY,
        readers.in_section("resilience", "degraded_calls"),
    ),
    MetricSpec(
        "agent_cache.fallback.requests",
        "counter",
        "{request}",
        (RESULT,),
        "Keys looked up in the in-process fallback during outages, by result: hit, miss.",
        "caches with on_error: fallback",
        readers.lookups_in("fallback"),
    ),
    MetricSpec(
        "agent_cache.circuit.openings",
        "counter",
        "{opening}",
        (),
        "Times the circuit opened (the backend became unavailable).",
        _POLICY,
        readers.circuit_openings,
    ),
    MetricSpec(
        "agent_cache.invalidations.replayed",
        "counter",
        "{invalidation}",
        (),
        "Writes made during an outage replayed on the backend as deletes before it served again "
        "(a clear of the namespace counts one).",
        _POLICY,
        readers.in_section("resilience", "invalidations_replayed"),
    ),
    MetricSpec(
        "agent_cache.near.requests",
        "counter",
        "{request}",
        (RESULT,),
        "Keys looked up in the near cache, by result: hit, miss (a miss goes on to the backend).",
        _NEAR,
        readers.lookups_in("near"),
    ),
    MetricSpec(
        "agent_cache.near.invalidations",
        "counter",
        "{invalidation}",
        (),
        "Invalidations the server sent the near cache.",
        _NEAR,
        readers.in_section("near", "invalidations"),
    ),
    MetricSpec(
        "agent_cache.near.flushes",
        "counter",
        "{flush}",
        (),
        "Times the near cache was emptied (tracking lost, circuit opened or closed).",
        _NEAR,
        readers.in_section("near", "flushes"),
    ),
    MetricSpec(
        "agent_cache.near.entries",
        "updowncounter",
        "{entry}",
        (),
        "Entries held now.",
        _NEAR,
        readers.in_section("near", "size"),
    ),
    MetricSpec(
        "agent_cache.llm.requests",
        "counter",
        "{request}",
        (MODEL, RESULT),
        "LLM requests, by model and result: hit (answered without a model call of its own), miss "
        "(its own model call, through the cache), bypassed (its own model call, past the cache: "
        "disabled, or sampled with sampled: bypass), error (it raised).",
        _LLM,
        readers.per_model(
            ("hits", {RESULT: "hit"}),
            ("misses", {RESULT: "miss"}),
            ("bypassed", {RESULT: "bypassed"}),
            ("errors", {RESULT: "error"}),
        ),
        "llm",
    ),
    MetricSpec(
        "agent_cache.llm.tokens_saved",
        "counter",
        "{token}",
        (MODEL, USAGE_KIND),
        "Tokens not sent to or generated by the model thanks to hits, by model and token type: input "
        "(prompt), output (completion).",
        _LLM,
        readers.per_model(
            ("saved.prompt_tokens", {USAGE_KIND: "input"}),
            ("saved.completion_tokens", {USAGE_KIND: "output"}),
        ),
        "llm",
    ),
    MetricSpec(
        "agent_cache.llm.time_saved",
        "counter",
        "s",
        (MODEL,),
        "Model time saved by hits (the recorded duration of the original call, less the time the hit "
        "took), by model.",
        _LLM,
        readers.per_model(("saved.model_seconds", {})),
        "llm",
    ),
    MetricSpec(
        "agent_cache.llm.cost_saved",
        "counter",
        "{USD}",
        (MODEL,),
        "Money saved by hits, from the price table in the configuration (cache.llm.prices), by model; "
        "0 for a model without a price.",
        _LLM,
        readers.per_model(("saved.cost", {})),
        "llm",
    ),
)

#: Every metric, the measured one first.
ALL = (DURATION, *OBSERVED)


def prometheus_name(spec: MetricSpec) -> str:
    """The name OpenTelemetry's Prometheus exporter gives ``spec``: dots as underscores, the unit
    as a suffix (``s`` → ``_seconds``; annotations such as ``{request}`` dropped), ``_total`` on a
    counter. A histogram's samples add ``_bucket``, ``_sum`` and ``_count`` to it."""
    name = spec.name.replace(".", "_")
    if spec.unit == "s":
        name += "_seconds"
    return f"{name}_total" if spec.instrument == "counter" else name


_INSTRUMENTS = {
    "histogram": "histogram",
    "counter": "observable counter",
    "updowncounter": "observable up-down counter",
    "gauge": "observable gauge",
}


def markdown_table() -> str:
    """The table of ``docs/metrics.md`` (a test holds the page to it): print it with
    ``python -m src.infrastructure.cache.metrics.names``."""
    lines = [
        "| metric | Prometheus | instrument | unit | attributes | exported for | what it counts |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for spec in ALL:
        attributes = ", ".join(f"`{name}`" for name in (CACHE_NAME, *spec.attributes))
        lines.append(
            f"| `{spec.name}` | `{prometheus_name(spec)}` | {_INSTRUMENTS[spec.instrument]} | `{spec.unit}` "
            f"| {attributes} | {spec.when} | {spec.description} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
