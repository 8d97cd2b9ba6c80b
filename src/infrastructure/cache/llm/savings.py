"""What the LLM cache saved and spent, per model: calls, tokens, model time and money.

Every request ends as exactly one of: a *hit* (answered without a model call of its own - from the
cache, or by sharing another caller's call in flight), a *miss* (its own model call, through the
cache), *bypassed* (its own model call, past the cache) or an *error* (it raised). A hit saves the
stored call's tokens and cost, and its duration less what the hit itself took (a caller that waited
for a call in flight saved only the part it did not wait). Misses and bypassed calls are *spent*.
Counters are per process, exact under concurrent threads and tasks (one lock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from src.infrastructure.cache.config.llm_config import LLMCacheConfig
from src.infrastructure.cache.llm.entries import Usage, usage_of

logger = logging.getLogger(__name__)

OUTCOMES = ("hits", "misses", "bypassed", "errors")


@dataclass
class _Tally:
    """Calls, tokens, model seconds and cost on one side (saved or spent)."""

    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    cost: float = 0.0

    def add(self, usage: Usage, seconds: float, cost: float) -> None:
        self.model_calls += 1
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.model_seconds += seconds
        self.cost += cost

    def merge(self, other: _Tally) -> None:
        self.model_calls += other.model_calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.model_seconds += other.model_seconds
        self.cost += other.cost

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_calls": self.model_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "model_seconds": round(self.model_seconds, 6),
            "cost": round(self.cost, 6),
        }


@dataclass
class _ModelTally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    saved: _Tally = field(default_factory=_Tally)
    spent: _Tally = field(default_factory=_Tally)
    priced: bool = True


class Savings:
    """The counters of one LLM cache; ``config`` gives the prices and currency."""

    def __init__(self, config: LLMCacheConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._models: dict[str, _ModelTally] = {}
        self._store_errors = 0

    def hit(self, model: str, answered_by: str | None, usage: Usage, elapsed: float) -> None:
        """A request answered from the cache (or a call in flight) after ``elapsed`` seconds."""
        cost = self._cost(model, answered_by, usage)
        with self._lock:
            tally = self._tally(model, cost)
            tally.counts["hits"] += 1
            tally.saved.add(usage, max(usage.duration - elapsed, 0.0), cost or 0.0)

    def called(self, outcome: str, model: str, answered_by: str | None, usage: Usage) -> None:
        """A request answered by its own model call: ``outcome`` ``misses`` or ``bypassed``."""
        cost = self._cost(model, answered_by, usage)
        with self._lock:
            tally = self._tally(model, cost)
            tally.counts[outcome] += 1
            tally.spent.add(usage, usage.duration, cost or 0.0)

    def count_hit(self, entry: Mapping[str, Any], started: float) -> None:
        """:meth:`hit` for a request started at ``started`` (``perf_counter``) and answered by ``entry``."""
        elapsed = time.perf_counter() - started
        self.hit(entry["model"], entry.get("response_model"), usage_of(entry), elapsed)

    def count_call(self, outcome: str, entry: Mapping[str, Any]) -> None:
        """:meth:`called` for the entry of the request's own model call."""
        self.called(outcome, entry["model"], entry.get("response_model"), usage_of(entry))

    def not_stored(self, key: str, entry: Mapping[str, Any], exc: Exception) -> None:
        """The request's own answer, which the cache refused or could not write: returned anyway."""
        logger.warning("llm cache: answer for %s returned but not stored: %s", key, exc)
        self.store_error()
        self.count_call("misses", entry)

    def error(self, model: str) -> None:
        """A request that raised (its call, a call it shared, or the cache)."""
        with self._lock:
            self._tally(model, 0.0).counts["errors"] += 1

    def store_error(self) -> None:
        """An answer returned but not stored (too large, or the cache went away)."""
        with self._lock:
            self._store_errors += 1

    def snapshot(self) -> dict[str, Any]:
        """Totals, then the same per model (see ``ILLMResponseCache.get_stats``)."""
        with self._lock:
            models = {name: _copy(tally) for name, tally in self._models.items()}
            store_errors = self._store_errors
        counts = dict.fromkeys(OUTCOMES, 0)
        saved, spent = _Tally(), _Tally()
        for tally in models.values():
            for outcome in OUTCOMES:
                counts[outcome] += tally.counts[outcome]
            saved.merge(tally.saved)
            spent.merge(tally.spent)
        answered = counts["hits"] + counts["misses"] + counts["bypassed"]
        return {
            "requests": answered + counts["errors"],
            **counts,
            "hit_rate": counts["hits"] / answered if answered else 0.0,
            "store_errors": store_errors,
            "currency": self._config.currency,
            "saved": saved.as_dict(),
            "spent": spent.as_dict(),
            "unpriced_models": sorted(name for name, tally in models.items() if not tally.priced),
            "by_model": {
                name: {**tally.counts, "saved": tally.saved.as_dict(), "spent": tally.spent.as_dict()}
                for name, tally in sorted(models.items())
            },
        }

    def _cost(self, model: str, answered_by: str | None, usage: Usage) -> float | None:
        price = self._config.price_of(model, answered_by)
        return None if price is None else price.cost(usage.prompt_tokens, usage.completion_tokens)

    def _tally(self, model: str, cost: float | None) -> _ModelTally:
        tally = self._models.get(model)
        if tally is None:
            tally = self._models[model] = _ModelTally()
        if cost is None:
            tally.priced = False
        return tally


def _copy(tally: _ModelTally) -> _ModelTally:
    return _ModelTally(
        dict(tally.counts),
        _Tally(**vars(tally.saved)),
        _Tally(**vars(tally.spent)),
        tally.priced,
    )
