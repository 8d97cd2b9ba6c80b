"""The ``agent-cache demo`` workload: an agent's LLM calls, cached through any :class:`ICacheProvider`.

An agent asks a stand-in LLM a stream of prompts in which some prompts recur far more often than
others (as tool descriptions, system prompts and popular questions do). Each request looks the
response up in the cache under a key derived from (model, prompt); on a miss it calls the LLM and
stores the record. Every record read back is checked against what the LLM would have answered.

Nothing here knows which provider it runs on, and nothing touches keys outside ``KEY_PREFIX``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from src.interfaces.llm.cache import ICacheProvider

logger = logging.getLogger(__name__)

#: Every key the demo writes starts with this, so it can reset its own entries and nobody else's.
KEY_PREFIX = "demo:llm:"
#: Lifetime of the demo's entries: long enough for any run, short enough not to litter a shared cache.
DEMO_TTL = 600.0
#: Zipf exponent of the prompt stream: the prompt of rank r is drawn with weight 1 / r**skew.
DEFAULT_SKEW = 1.1
#: Agents asking at once by default: enough that popular prompts are asked concurrently.
DEFAULT_CONCURRENCY = 8

_TASKS = (
    "Summarise the open incidents about {topic} for the on-call engineer",
    "Draft a polite reply to a customer asking about {topic}",
    "List three risks of changing {topic} before the release",
    "Explain {topic} to a new team member in two paragraphs",
    "Write a SQL query that reports weekly {topic} figures",
    "Classify this support ticket about {topic} as bug, question or request",
)
_TOPICS = (
    "billing retries",
    "login timeouts",
    "the search index",
    "invoice exports",
    "rate limits",
    "webhook delivery",
    "password resets",
    "the mobile app",
    "data retention",
    "SSO setup",
)


@dataclass(frozen=True)
class StandInLLM:
    """A deterministic stand-in for an LLM endpoint.

    :meth:`answer` is a pure function of (model, prompt); :meth:`complete` really waits ``latency``
    seconds first, as a network round trip to a model would.
    """

    latency: float = 0.02
    model: str = "stand-in-llm-1"

    def complete(self, prompt: str) -> dict[str, Any]:
        """Sleep ``latency`` seconds, then return :meth:`answer` for ``prompt``."""
        time.sleep(self.latency)
        return self.answer(prompt)

    def answer(self, prompt: str) -> dict[str, Any]:
        """The response record for ``prompt``, without the delay: the same record every time."""
        digest = hashlib.sha256(f"{self.model}\0{prompt}".encode()).hexdigest()
        prompt_tokens = len(prompt.split()) + 12  # + a fixed system prompt
        completion_tokens = 24 + int(digest[:2], 16) % 96
        return {
            "id": f"cmpl-{digest[:24]}",
            "model": self.model,
            "text": f"Here is what I found on '{prompt}' (answer {digest[24:32]}).",
            "finish_reason": "stop",
            "mean_logprob": -int(digest[32:36], 16) / 65_536,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


@dataclass
class DemoResult:
    """What a run did. ``hits`` (requests answered without an LLM call of their own: from the cache,
    or by sharing another agent's call in flight) and ``llm_calls`` add up to ``requests``."""

    requests: int = 0
    distinct_prompts: int = 0
    llm_calls: int = 0
    hits: int = 0
    mismatches: int = 0
    elapsed: float = 0.0
    llm_seconds: float = 0.0

    @property
    def hit_rate(self) -> float:
        """Share of requests answered from the cache (0.0 for an empty run)."""
        return self.hits / self.requests if self.requests else 0.0

    @property
    def mean_llm_latency(self) -> float:
        """Measured mean duration of one LLM call, in seconds (0.0 if none was made)."""
        return self.llm_seconds / self.llm_calls if self.llm_calls else 0.0

    @property
    def uncached_seconds(self) -> float:
        """What the LLM calls alone would have cost without a cache: every request a call."""
        return self.requests * self.mean_llm_latency

    @property
    def seconds_saved(self) -> float:
        """``uncached_seconds`` minus the run's real wall-clock time (cache overhead included)."""
        return self.uncached_seconds - self.elapsed

    def as_dict(self) -> dict[str, Any]:
        """Every counter and derived figure, as plain data."""
        return {
            **asdict(self),
            "calls_saved": self.hits,
            "hit_rate": self.hit_rate,
            "mean_llm_latency": self.mean_llm_latency,
            "uncached_seconds": self.uncached_seconds,
            "seconds_saved": self.seconds_saved,
        }


def prompt_pool(unique: int) -> list[str]:
    """``unique`` distinct agent-style prompts; the same list for the same ``unique``."""
    return [
        f"{_TASKS[i % len(_TASKS)].format(topic=_TOPICS[(i // len(_TASKS)) % len(_TOPICS)])} (case {i + 1})"
        for i in range(unique)
    ]


def prompt_stream(pool: Sequence[str], requests: int, seed: int, skew: float = DEFAULT_SKEW) -> list[str]:
    """``requests`` prompts drawn from ``pool`` with Zipf-like weights; the same seed, the same stream."""
    weights = [1 / rank**skew for rank in range(1, len(pool) + 1)]
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    return rng.choices(pool, weights=weights, k=requests)


def cache_key(model: str, prompt: str) -> str:
    """``demo:llm:<sha256 hex>`` of (model, prompt): stable across runs, processes and machines."""
    digest = hashlib.sha256(json.dumps([model, prompt]).encode()).hexdigest()
    return f"{KEY_PREFIX}{digest}"


def reset_keys(cache: ICacheProvider, llm: StandInLLM, pool: Iterable[str]) -> int:
    """Delete the demo's entries for ``pool`` (and nothing else); returns how many were present.

    Deliberately not ``cache.clear()``: on a shared Redis that would wipe other agents' entries.
    """
    removed = cache.delete_many(cache_key(llm.model, prompt) for prompt in pool)
    logger.info("removed %d demo entries left by an earlier run", removed)
    return removed


def run_demo(
    cache: ICacheProvider,
    llm: StandInLLM,
    prompts: Iterable[str],
    ttl: float = DEMO_TTL,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> DemoResult:
    """Serve the prompts from ``concurrency`` agents at once, each through ``cache.get_or_set``.

    Agents asking for the same prompt at the same moment share one LLM call (compute-once), so the
    LLM is called once per distinct prompt, however the requests interleave.
    """
    run = _Run(cache, llm, ttl)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="agent") as agents:
        for _ in agents.map(run.serve, prompts):
            pass
    run.result.elapsed = time.perf_counter() - started
    run.result.distinct_prompts = len(run.seen)
    return run.result


class _Run:
    """The shared state of one demo run; ``serve`` is called by many agent threads at once."""

    def __init__(self, cache: ICacheProvider, llm: StandInLLM, ttl: float) -> None:
        self.cache, self.llm, self.ttl = cache, llm, ttl
        self.result = DemoResult()
        self.seen: set[str] = set()
        self._lock = threading.Lock()

    def serve(self, prompt: str) -> None:
        called: list[bool] = []

        def call_llm() -> dict[str, Any]:
            called.append(True)
            began = time.perf_counter()
            record = self.llm.complete(prompt)
            with self._lock:
                self.result.llm_seconds += time.perf_counter() - began
                self.result.llm_calls += 1
            return record

        key = cache_key(self.llm.model, prompt)
        record = self.cache.get_or_set(key, call_llm, self.ttl)
        mismatch = record != self.llm.answer(prompt)
        if mismatch:
            logger.warning("cached record under %s differs from the LLM's answer: %r", key, record)
        with self._lock:
            self.seen.add(prompt)
            self.result.requests += 1
            self.result.hits += not called
            self.result.mismatches += mismatch
