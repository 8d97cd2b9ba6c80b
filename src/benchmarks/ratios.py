"""The ratios that matter, and the targets of issues 5 and 14 they are held to.

A ratio compares two contenders of one case, named by role (see ``ROLES``). It is the median of
the per-round ratios. ``time`` ratios compare time per operation (lower is better for the
numerator); ``throughput`` ratios compare operations per second (higher is better). Targets are
stated for a same-CPU run (``--pin same``).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Literal

from src.benchmarks.compute_contenders import CASES, COMPUTE_ROLES
from src.benchmarks.metrics_contenders import MEMORY_CASE, METRICS_ROLES, REDIS_CASE
from src.benchmarks.near_contenders import COLD_ASYNC, COLD_SYNC, HOT_ASYNC, HOT_SYNC, NEAR_ROLE
from src.benchmarks.runner import Samples
from src.benchmarks.workload import BATCH_SIZE

Kind = Literal["time", "throughput"]

#: What each role stands for, printed as the legend of the ratios.
ROLES = {
    "ours": "the provider as services get it from the container (wrappers included)",
    "bare": "the provider alone, without its resilience wrapper",
    "raw": "the client library doing the same work by hand (redis-py / redis.asyncio, hiredis)",
    "raw-pool": "redis.asyncio by hand on a client built like ours (blocking pool, timeouts, retries)",
    "peer": "aiocache RedisCache with its msgpack serializer",
    "singles": f"the same keys, one call each ({BATCH_SIZE} x get / set)",
    "raw-ttl": "cachetools TTLCache + lock (one TTL for the whole cache: the issue's reference)",
    "raw-tlru": "cachetools TLRUCache + lock (per-entry TTL: the same work as the provider)",
    **METRICS_ROLES,
    **COMPUTE_ROLES,
    **NEAR_ROLE,
}
#: The case of the LLM-response cache's key building (``llm_contenders.py``), where ``raw`` is
#: the SHA-256 of the request's sorted JSON.
LLM_KEY_CASE = "llm key: 20-message request, 2 tools"


@dataclass(frozen=True)
class RatioSpec:
    """``numerator`` / ``denominator`` (roles) within ``case``, and the target it should meet."""

    case: str
    numerator: str
    denominator: str
    kind: Kind
    target: tuple[Literal["<=", ">="], float] | None = None

    @property
    def label(self) -> str:
        what = "time per op" if self.kind == "time" else "throughput"
        return f"{self.case}: {self.numerator} / {self.denominator}, {what}"


@dataclass(frozen=True)
class Ratio:
    """A computed ratio: median and range over the rounds, and whether its target is met."""

    spec: RatioSpec
    median: float
    low: float
    high: float

    @property
    def met(self) -> bool | None:
        if self.spec.target is None:
            return None
        op, bound = self.spec.target
        return self.median <= bound if op == "<=" else self.median >= bound

    def as_dict(self) -> dict[str, Any]:
        target = None if self.spec.target is None else f"{self.spec.target[0]} {self.spec.target[1]:g}"
        return {"ratio": self.spec.label, "median": round(self.median, 3), "low": round(self.low, 3),
                "high": round(self.high, 3), "target": target, "met": self.met}  # fmt: skip


def ratio_specs(task_counts: tuple[int, ...]) -> list[RatioSpec]:
    """Every ratio reported; the issue's targets are attached to the ones it sets them for."""
    specs: list[RatioSpec] = []
    for op in ("get", "set"):
        case = f"redis {op} (sync)"
        specs += [
            RatioSpec(case, "ours", "raw", "time", ("<=", 1.10)),
            RatioSpec(case, "bare", "raw", "time"),
            RatioSpec(case, "ours", "bare", "time"),
        ]
    for tasks in task_counts:
        for op in ("get", "set"):
            specs += _async_specs(op, tasks, many=tasks == max(task_counts) and tasks > 1)
    for op in ("get", "set"):
        case = f"redis {op}_many({BATCH_SIZE})"
        specs += [
            RatioSpec(case, "ours", "raw", "time", ("<=", 1.2)),
            RatioSpec(case, "ours", "singles", "throughput", (">=", 10.0)),
            RatioSpec(case, "ours", "bare", "time"),
        ]
    for label in ("memory", "memory, serialize_values: false"):
        for op in ("get", "set"):
            case = f"{label}: {op}"
            specs += [
                RatioSpec(case, "ours", "raw-ttl", "time", ("<=", 1.5)),
                RatioSpec(case, "ours", "raw-tlru", "time", ("<=", 1.5)),
            ]
    for case in (HOT_SYNC, HOT_ASYNC):  # issue 14: a hot key from the near cache, 10x raw or better
        specs.append(RatioSpec(case, "near", "raw", "time", ("<=", 0.1)))
    for case in (COLD_SYNC, COLD_ASYNC):  # issue 14: what a near cache's miss adds to a read
        specs.append(RatioSpec(case, "near", "ours", "time", ("<=", 1.10)))
    for case in (REDIS_CASE, MEMORY_CASE):  # issue 15: the metrics' cost on a sync get
        specs += [
            RatioSpec(case, "no-sdk", "plain", "time", ("<=", 1.03)),
            RatioSpec(case, "api-wrap", "plain", "time"),
            RatioSpec(case, "sdk", "plain", "time"),
        ]
    specs.append(RatioSpec(LLM_KEY_CASE, "ours", "raw", "time"))
    for label in ("redis", "memory"):  # issues 11 and 12: get_or_set hits, namespaces
        for case, (role, target) in CASES.items():
            specs.append(RatioSpec(f"{label} {case}", role, "direct", "time", ("<=", target)))
    return specs


def _async_specs(op: str, tasks: int, *, many: bool) -> list[RatioSpec]:
    """A lone caller (1 task) is held to raw's time per op (issue 14: at most 1.05x, against raw
    redis.asyncio as it comes and as the provider builds it); many tasks to raw's throughput."""
    if tasks == 1:
        case = f"redis {op}_async, 1 task"
        return [
            RatioSpec(case, "ours", "raw", "time", ("<=", 1.05)),
            RatioSpec(case, "ours", "raw-pool", "time", ("<=", 1.05)),
            RatioSpec(case, "ours", "peer", "time"),
            RatioSpec(case, "ours", "bare", "time"),
        ]
    case = f"redis {op}_async, {tasks} tasks"
    return [
        RatioSpec(case, "ours", "raw", "throughput", (">=", 1.0) if many else None),
        RatioSpec(case, "ours", "raw-pool", "throughput"),
        RatioSpec(case, "ours", "peer", "throughput", (">=", 1.5) if many else None),
        RatioSpec(case, "ours", "bare", "time"),
    ]


def compute_ratios(
    specs: list[RatioSpec], samples: dict[tuple[str, str], Samples], roles: dict[tuple[str, str], str]
) -> list[Ratio]:
    """The ratios whose two contenders both ran (``roles``: (case, role) -> contender name)."""
    ratios = []
    for spec in specs:
        numerator = roles.get((spec.case, spec.numerator))
        denominator = roles.get((spec.case, spec.denominator))
        if numerator is None or denominator is None:
            continue
        top, bottom = samples[(spec.case, numerator)].wall, samples[(spec.case, denominator)].wall
        # Seconds per op: a time ratio is top/bottom; a throughput ratio (ops/s) is bottom/top.
        per_round = [t / b if spec.kind == "time" else b / t for t, b in zip(top, bottom, strict=True)]
        ratios.append(Ratio(spec, statistics.median(per_round), min(per_round), max(per_round)))
    return ratios
