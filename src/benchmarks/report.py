"""A benchmark result as people read it (a text table) and as scripts read it (a dict for JSON)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from src.benchmarks.ratios import ROLES, Ratio
from src.benchmarks.runner import Samples


@dataclass(frozen=True)
class Row:
    """One contender's figures: median ops/s, its spread, and median wall and CPU µs per op."""

    case: str
    name: str
    role: str
    ops_per_second: float
    spread: float
    wall_us: float
    cpu_us: float

    @classmethod
    def of(cls, case: str, name: str, role: str, samples: Samples) -> Row:
        rates = samples.ops_per_second
        median = statistics.median(rates)
        spread = (max(rates) - min(rates)) / 2 / median if median else 0.0
        return cls(case, name, role, median, spread, samples.median_wall() * 1e6, samples.median_cpu() * 1e6)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "contender": self.name,
            "role": self.role,
            "ops_per_second": round(self.ops_per_second),
            "spread": round(self.spread, 4),
            "wall_us_per_op": round(self.wall_us, 3),
            "cpu_us_per_op": round(self.cpu_us, 3),
        }


@dataclass
class BenchmarkResult:
    """Everything one run measured, and what it ran on."""

    settings: dict[str, Any]
    machine: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    footprint: dict[str, Any] | None = None
    #: What 10k near-cache entries of the workload's value hold (``near_contenders.near_memory``).
    near_memory: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "machine": self.machine,
            "results": [row.as_dict() for row in self.rows],
            "ratios": [ratio.as_dict() for ratio in self.ratios],
            "memory_footprint": self.footprint,
            "near_cache_memory": self.near_memory,
            "notes": self.notes,
        }


def text_report(result: BenchmarkResult) -> str:
    """The result as aligned text: settings, the table by case, the ratios, the footprint."""
    lines = [f"{key}: {value}" for key, value in {**result.settings, **result.machine}.items()]
    lines += ["", *_table(result.rows), "", *_ratio_lines(result.ratios, result.settings.get("pin", ""))]
    if result.footprint:
        lines += ["", _footprint_line(result.footprint)]
    if result.near_memory:
        lines.append(_near_memory_line(result.near_memory))
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def _footprint_line(f: dict[str, Any]) -> str:
    entry = (
        f"{f['bytes_per_entry']:.0f} bytes/entry: {f['value_bytes']}-byte value, {f['key_chars']}-char key"
    )
    bound = (
        f"after {2 * f['entries']} writes into max_size={f['entries']}: size {f['size_after_2x_writes']}, "
        f"RSS {f['rss_growth_mb_after_2x_writes']:+.1f} MB"
    )
    return f"memory provider footprint: {f['mb_per_100k_entries']:.1f} MB per 100k entries ({entry}); {bound}"


def _near_memory_line(m: dict[str, Any]) -> str:
    return (
        f"near cache memory: {m['mb_per_10k_entries']:.1f} MB per 10k entries ({m['bytes_per_entry']:.0f} "
        f"bytes/entry: {m['value_bytes']}-byte payload, {m['name_bytes']}-byte name; tracemalloc)"
    )


def _table(rows: list[Row]) -> list[str]:
    width = max((len(row.name) for row in rows), default=10) + 2
    header = f"{'case / contender':<{width}} {'ops/s':>10} {'spread':>7} {'wall µs/op':>11} {'CPU µs/op':>10}"
    lines = [header, "-" * len(header)]
    case = None
    for row in rows:
        if row.case != case:
            case = row.case
            lines.append(case)
        lines.append(
            f"  {row.name:<{width - 2}} {row.ops_per_second:>10,.0f} {'±' + format(row.spread, '.1%'):>7} "
            f"{row.wall_us:>11.2f} {row.cpu_us:>10.2f}"
        )
    return lines


def _ratio_lines(ratios: list[Ratio], pin: str) -> list[str]:
    if not ratios:
        return []
    caveat = "" if str(pin).startswith("same") else " (targets are set for --pin same)"
    width = max(len(ratio.spec.label) for ratio in ratios) + 2
    used = dict.fromkeys(role for ratio in ratios for role in (ratio.spec.numerator, ratio.spec.denominator))
    lines = [f"ratios, median of per-round ratios [range]{caveat}"]
    lines += [f"  {role:<8} = {ROLES[role]}" for role in used]
    for ratio in ratios:
        verdict = ""
        if ratio.spec.target is not None:
            op, bound = ratio.spec.target
            verdict = f"target {op} {bound:g}: {'met' if ratio.met else 'MISSED'}"
        spread = f"[{ratio.low:.2f}-{ratio.high:.2f}]"
        lines.append(f"  {ratio.spec.label:<{width}} {ratio.median:>6.2f}x {spread}  {verdict}")
    return lines
