"""Turning results into the text and JSON the CLI prints. Pure functions: no I/O here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from src.cli import stats_view
from src.cli.demo import DemoResult

_HEALTH_FIELDS = ("provider", "healthy", "detail")


def one_line(message: object) -> str:
    """``message`` as a single line: runs of whitespace (newlines included) become one space."""
    return " ".join(str(message).split())


def to_json(data: Any) -> str:
    """Indented JSON; values JSON cannot carry are shown as their ``str``."""
    return json.dumps(data, indent=2, default=str)


def _value(value: Any, nested: bool = False) -> str:
    """One value on one line; a mapping or list inside another is bracketed, so its items stay its own."""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"
    if isinstance(value, Mapping):
        text = ", ".join(f"{key}={_value(item, nested=True)}" for key, item in value.items()) or "-"
        return f"({text})" if nested and value else text
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item, nested=True) for item in value) + "]"
    return str(value)


def key_values(data: Mapping[str, Any], indent: str = "  ") -> list[str]:
    """One aligned ``key  value`` line per item."""
    width = max((len(str(key)) for key in data), default=0)
    return [f"{indent}{key!s:<{width}}  {_value(value)}" for key, value in data.items()]


def demo_report(
    result: DemoResult,
    provider: str,
    llm_stats: Mapping[str, Any],
    provider_stats: Mapping[str, Any],
    workload: str,
) -> str:
    """The demo's summary for people: what was asked, what the LLM cache saved (calls, tokens, model
    time, money), then its ``get_stats()`` and the provider's own."""
    per_call = f"{result.requests} x {result.mean_llm_latency * 1000:.1f} ms per call"
    speedup = result.uncached_seconds / result.elapsed if result.elapsed else 0.0
    saved, spent, currency = llm_stats["saved"], llm_stats["spent"], llm_stats["currency"]
    summary = {
        "requests": result.requests,
        "distinct prompts": result.distinct_prompts,
        "LLM calls made": f"{result.llm_calls} ({_per_prompt(result)})",
        "calls saved": result.hits,
        "hit rate": f"{result.hit_rate:.1%}",
        "tokens saved": _tokens(saved),
        "tokens spent": _tokens(spent),
        "money saved": f"{saved['cost']:.4f} {currency} (spent {spent['cost']:.4f} {currency})",
        "time spent": f"{result.elapsed:.2f} s (of which LLM calls {result.llm_seconds:.2f} s)",
        "LLM alone, no cache": f"{result.uncached_seconds:.2f} s ({per_call})",
        "time saved": f"{result.seconds_saved:.2f} s ({speedup:.1f}x faster)",
        "verified": _verdict(result),
    }
    served = stats_view.fallback_summary(provider, provider_stats)
    lines = [
        f"demo on provider {provider!r}: {workload}",
        *(stats_view.paragraph(served) if served else []),
        *key_values(summary),
        "",
        llm_stats_report(llm_stats),
        "",
        f"{provider} get_stats():",
        *stats_view.counter_lines(provider_stats),
    ]
    return "\n".join(lines)


def llm_stats_report(stats: Mapping[str, Any]) -> str:
    """The LLM-response cache's ``get_stats()``, headed by what it is and whose counters they are,
    within 80 columns."""
    head = (
        f"LLM-response cache (cache {stats['cache']!r}, namespace {stats['namespace']!r}): "
        "counters of this process only"
    )
    shown = {key: value for key, value in stats.items() if key not in ("cache", "namespace")}
    lines = stats_view.paragraph(head)
    for key, value in shown.items():
        lines += stats_view.field(key.replace("_", " "), stats_view.plain(value))
    return "\n".join(lines)


def _tokens(tally: Mapping[str, Any]) -> str:
    prompt, completion = tally["prompt_tokens"], tally["completion_tokens"]
    return f"{prompt + completion:,} ({prompt:,} prompt + {completion:,} completion)"


def _per_prompt(result: DemoResult) -> str:
    if result.llm_calls == result.distinct_prompts:
        return "one per distinct prompt"
    return f"{result.llm_calls - result.distinct_prompts:+d} against one per distinct prompt"


def _verdict(result: DemoResult) -> str:
    if result.mismatches:
        return f"FAILED: {result.mismatches} of {result.requests} records differ from the LLM's answer"
    return f"all {result.requests} records served equal the LLM's answer"


def health_line(report: Mapping[str, Any], width: int) -> str:
    """``name  ok|DOWN  detail  extra=...`` for one provider's ``health()``."""
    state = "ok" if report.get("healthy") else "DOWN"
    extra = {key: value for key, value in report.items() if key not in _HEALTH_FIELDS}
    line = f"{report.get('provider', '?')!s:<{width}}  {state:<4}  {report.get('detail', '')}"
    return f"{line}  ({_value(extra)})" if extra else line


def health_report(reports: Sequence[Mapping[str, Any]]) -> str:
    """One :func:`health_line` per provider, names aligned."""
    width = max((len(str(report.get("provider", "?"))) for report in reports), default=0)
    return "\n".join(health_line(report, width) for report in reports)


def config_document(config: Mapping[str, Any], source: str) -> str:
    """The resolved configuration as YAML, preceded by a comment naming its source."""
    body = yaml.safe_dump({"cache": dict(config)}, sort_keys=False, default_flow_style=False)
    return f"# agent-cache configuration, secrets masked; read from: {source}\n{body.rstrip()}"
