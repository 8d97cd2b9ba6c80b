"""The ``agent-cache demo`` workload: agents' LLM calls through the LLM-response cache.

Agents ask a stand-in LLM a stream of chat requests in which some prompts recur far more often
than others (as tool descriptions, system prompts and popular questions do). Every request goes
through :class:`~src.infrastructure.cache.llm.response_cache.LLMResponseCache` - the same class
services resolve as ``ILLMResponseCache`` - over the chosen provider: one model call per distinct
request however the agents interleave, and its savings in calls, tokens, model time and money.
Every answer read back is checked against what the LLM would have answered.

The demo's entries live in their own namespace (``demo``), so it never reads or deletes a
service's answers; it prices its stand-in model as gpt-4o is priced unless ``cache.llm.prices``
names it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from src.infrastructure.cache.config.llm_config import LLMCacheConfig, ModelPrice
from src.infrastructure.cache.llm.response_cache import LLMResponseCache
from src.interfaces.llm.cache import ICacheProvider
from src.interfaces.llm.response_cache import ILLMResponseCache

logger = logging.getLogger(__name__)

#: The namespace of the demo's keys: it resets its own entries and nobody else's.
DEMO_NAMESPACE = "demo"
#: Lifetime of the demo's entries: long enough for any run, short enough not to litter a shared cache.
DEMO_TTL = 600.0
#: Zipf exponent of the prompt stream: the prompt of rank r is drawn with weight 1 / r**skew.
DEFAULT_SKEW = 1.1
#: Agents asking at once by default: enough that popular prompts are asked concurrently.
DEFAULT_CONCURRENCY = 8
#: The stand-in model's price unless the configuration names it: gpt-4o's, per million tokens.
DEMO_PRICE = ModelPrice(prompt_per_1m=2.5, completion_per_1m=10.0)
_SYSTEM = "You are the operations assistant of an online shop. Answer in at most three sentences."

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
    """A deterministic stand-in for a chat-completion endpoint.

    :meth:`answer` is a pure function of the request's model and messages, shaped as OpenAI's
    response (usage included); :meth:`complete` really waits ``latency`` seconds first, as a
    network round trip to a model would.
    """

    latency: float = 0.02
    model: str = "stand-in-gpt-4o"

    def request(self, prompt: str) -> dict[str, Any]:
        """The chat request an agent sends for ``prompt``."""
        return {
            "model": self.model,
            "messages": [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": 256,
        }

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """Sleep ``latency`` seconds, then return :meth:`answer` for ``request``."""
        time.sleep(self.latency)
        return self.answer(request)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The response to ``request``, without the delay: the same response every time."""
        prompt = "\n".join(str(message["content"]) for message in request["messages"])
        digest = hashlib.sha256(f"{self.model}\0{prompt}".encode()).hexdigest()
        prompt_tokens = len(prompt.split()) * 4 // 3 + 8  # ~4/3 tokens a word, plus the chat framing
        completion_tokens = 24 + int(digest[:2], 16) % 96
        question = request["messages"][-1]["content"]
        return {
            "id": f"chatcmpl-{digest[:24]}",
            "object": "chat.completion",
            "created": 1_700_000_000 + int(digest[24:30], 16) % 10_000_000,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": f"Here is what I found on '{question}' (answer {digest[30:38]}).",
                    },
                    "finish_reason": "stop",
                }
            ],
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


def demo_cache(
    provider: ICacheProvider, config: LLMCacheConfig, llm: StandInLLM, cache_name: str | None = None
) -> LLMResponseCache:
    """The LLM cache as configured (``config``), in the demo's namespace, with a price for the
    stand-in model unless ``config`` has one."""
    settings = dataclasses.replace(
        config, namespace=DEMO_NAMESPACE, ttl=DEMO_TTL, prices={llm.model: DEMO_PRICE, **config.prices}
    )
    return LLMResponseCache(provider, settings, cache_name=cache_name)


def reset_keys(cache: ILLMResponseCache, llm: StandInLLM, pool: Iterable[str]) -> int:
    """Delete the demo's answers for ``pool`` (and nothing else); returns how many were present.

    Deliberately not ``clear()``: on a shared Redis that would wipe other agents' entries.
    """
    removed = sum(cache.invalidate(llm.request(prompt)) for prompt in pool)
    logger.info("removed %d demo entries left by an earlier run", removed)
    return removed


def run_demo(
    cache: ILLMResponseCache,
    llm: StandInLLM,
    prompts: Iterable[str],
    concurrency: int = DEFAULT_CONCURRENCY,
) -> DemoResult:
    """Serve the prompts from ``concurrency`` agents at once, each through ``cache.complete``.

    Agents asking for the same prompt at the same moment share one LLM call (compute-once), so the
    LLM is called once per distinct prompt, however the requests interleave.
    """
    run = _Run(cache, llm)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="agent") as agents:
        for _ in agents.map(run.serve, prompts):
            pass
    run.result.elapsed = time.perf_counter() - started
    run.result.distinct_prompts = len(run.seen)
    return run.result


class _Run:
    """The shared state of one demo run; ``serve`` is called by many agent threads at once."""

    def __init__(self, cache: ILLMResponseCache, llm: StandInLLM) -> None:
        self.cache, self.llm = cache, llm
        self.result = DemoResult()
        self.seen: set[str] = set()
        self._lock = threading.Lock()

    def serve(self, prompt: str) -> None:
        called: list[bool] = []
        request = self.llm.request(prompt)

        def call_llm() -> dict[str, Any]:
            called.append(True)
            began = time.perf_counter()
            response = self.llm.complete(request)
            with self._lock:
                self.result.llm_seconds += time.perf_counter() - began
                self.result.llm_calls += 1
            return response

        response = self.cache.complete(request, call_llm)
        mismatch = response != self.llm.answer(request)
        if mismatch:
            logger.warning("cached answer to %r differs from the LLM's: %r", prompt, response)
        with self._lock:
            self.seen.add(prompt)
            self.result.requests += 1
            self.result.hits += not called
            self.result.mismatches += mismatch
