"""One benchmark run: set up the contenders, time them in interleaved rounds, compute the ratios."""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from src.benchmarks import pinning
from src.benchmarks.compute_contenders import compute_contenders
from src.benchmarks.footprint import measure_footprint
from src.benchmarks.llm_contenders import llm_key_contenders
from src.benchmarks.machine import machine_info
from src.benchmarks.memory_contenders import MEMORY_SCALE, memory_contenders, opt_out_config
from src.benchmarks.metrics_contenders import MEMORY_CASE, REDIS_CASE, metrics_contenders
from src.benchmarks.near_contenders import near_contenders, near_memory
from src.benchmarks.ratios import compute_ratios, ratio_specs
from src.benchmarks.redis_session import RedisSession, ServerUnreachableError
from src.benchmarks.report import BenchmarkResult, Row
from src.benchmarks.runner import Contender, Progress, run_rounds
from src.benchmarks.scenarios import namespace_clear, stampede
from src.benchmarks.server import ServerStartError
from src.benchmarks.workload import KEY_COUNT, Workload, make_workload
from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.config.cache_config import CacheConfig, MemoryCacheConfig
from src.infrastructure.cache.config.loader import load_cache_config
from src.infrastructure.cache.config.sections import mask_url
from src.infrastructure.cache.providers.memory.memory_provider import MemoryCacheProvider

logger = logging.getLogger(__name__)

Target = Literal["memory", "redis", "all"]


class BenchmarkError(RuntimeError):
    """The run cannot be done as asked (no Redis server, impossible pinning)."""


@dataclass(frozen=True)
class BenchmarkOptions:
    """What to run. ``ops`` is per contender per round (x10 for in-process contenders).

    ``provider``: ``memory``, ``redis``, or ``all`` (Redis is then skipped, with a note, when no
    server can be had). ``footprint_entries``: entries for the memory footprint (0: not measured).
    """

    provider: Target = "all"
    rounds: int = 7
    ops: int = 2000
    value_bytes: int = 300
    tasks: int = 64
    pin: pinning.PinMode = "same"
    redis_url: str | None = None
    config_path: str | os.PathLike[str] | None = None
    footprint_entries: int = 100_000
    #: Other keys beside the namespace-clear scenario (0: the scenario is not run).
    namespace_keys: int = 0

    def command_line(self) -> str:
        """The ``agent-cache bench`` command that runs this (a URL's password masked)."""
        words = ["agent-cache", "bench", "--provider", self.provider, "--rounds", str(self.rounds)]
        words += ["--ops", str(self.ops), "--value-bytes", str(self.value_bytes), "--tasks", str(self.tasks)]
        words += ["--pin", self.pin]
        if self.redis_url:
            words += ["--redis-url", mask_url(self.redis_url)]
        if self.config_path is not None:
            words += ["--config", os.fspath(self.config_path)]
        if self.footprint_entries != BenchmarkOptions.footprint_entries:
            words += ["--footprint-entries", str(self.footprint_entries)]
        if self.namespace_keys:
            words += ["--namespace-keys", str(self.namespace_keys)]
        return shlex.join(words)


def run_benchmark(
    options: BenchmarkOptions | None = None, progress: Progress | None = None
) -> BenchmarkResult:
    """Run the benchmark; ``progress`` gets one line per step (default: the module logger)."""
    options = options or BenchmarkOptions()
    try:
        plan = pinning.plan(options.pin)
    except pinning.PinningError as exc:
        raise BenchmarkError(str(exc)) from exc
    run = _Run(options, plan, load_cache_config(options.config_path), progress or logger.info)
    previous = pinning.pin_client(plan.client)
    try:
        with ExitStack() as stack:
            contenders: list[Contender] = []
            if options.provider in ("redis", "all"):
                contenders += run.redis_contenders(stack)
            if options.provider in ("memory", "all"):
                contenders += run.memory_contenders(stack)
                contenders += llm_key_contenders()
            run.say(f"{len(contenders)} contenders, {options.rounds} rounds of {options.ops} ops each")
            samples = run_rounds(contenders, options.rounds, options.ops, run.say)
    finally:
        pinning.restore_client(previous)
    roles = {(c.case, c.role): c.name for c in contenders}
    result = BenchmarkResult(
        settings=run.settings,
        machine=machine_info(),
        rows=[Row.of(c.case, c.name, c.role, samples[(c.case, c.name)]) for c in _by_case(contenders)],
        ratios=compute_ratios(ratio_specs(run.task_counts), samples, roles),
        notes=run.notes,
    )
    if options.provider in ("memory", "all") and options.footprint_entries > 0:
        run.say(f"measuring the memory provider's footprint with {options.footprint_entries} entries")
        try:
            result.footprint = measure_footprint(options.footprint_entries, options.value_bytes)
        except (subprocess.SubprocessError, ValueError) as exc:  # a failed child: the rest stands
            result.notes.append(f"memory footprint not measured: {exc}")
    if options.footprint_entries > 0:
        result.near_memory = near_memory(run.workload.value)
    return result


@dataclass
class _Run:
    options: BenchmarkOptions
    plan: pinning.PinPlan
    cache_config: CacheConfig
    say: Progress
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workload: Workload = make_workload(self.options.value_bytes)
        self.task_counts = (1, self.options.tasks) if self.options.tasks > 1 else (1,)
        self.settings.update(
            command=self.options.command_line(),
            pin=self.plan.describe(server_pinned=False),
            rounds=self.options.rounds,
            ops=self.options.ops,
            value_bytes=self.workload.value_bytes,
            tasks=self.options.tasks,
        )

    def redis_contenders(self, stack: ExitStack) -> list[Contender]:
        """The Redis contenders; none (with a note) under ``all`` when no server can be had."""
        runner = stack.enter_context(asyncio.Runner())
        session = RedisSession(stack, self.cache_config, self.options.redis_url)
        try:
            session.open(self.plan, self.say)
        except ServerStartError as exc:
            if self.options.provider == "redis":
                raise BenchmarkError(str(exc)) from exc
            self.notes.append(f"redis skipped: {exc}")
            self.say(f"redis skipped: {exc}")
            return []
        except ServerUnreachableError as exc:  # a server was named: not reaching it is an error
            raise BenchmarkError(str(exc)) from exc
        self.settings["pin"] = self.plan.describe(server_pinned=session.server is not None)
        self.settings["redis_server"] = session.version
        self.settings["redis_at"] = "started by the benchmark" if session.server else mask_url(session.url)
        contenders = session.contenders(self.workload, runner, self.task_counts, self.say)
        ours = session.ours
        assert isinstance(ours, CacheProviderBase)  # every cache the container builds is one
        self.say("scenario: a stampede of 64 callers on one missing key")
        self.notes += stampede(ours, session.raw, runner)
        if self.options.namespace_keys:
            self.say(f"scenario: clearing a namespace beside {self.options.namespace_keys:,} other keys")
            self.notes += namespace_clear(session.config, session.raw, self.options.namespace_keys)
        contenders += near_contenders(
            stack,
            runner,
            config=session.bench_config,
            workload=self.workload,
            raw=session.raw,
            raw_async=session.raw_async,
            ours=ours,
        )
        return contenders + metrics_contenders(REDIS_CASE, ours, self.workload, self.notes)

    def memory_contenders(self, stack: ExitStack) -> list[Contender]:
        """The memory provider with copies (the default) and with ``serialize_values: false``."""
        configured = self.cache_config.providers["memory"]
        assert isinstance(configured, MemoryCacheConfig)
        config = replace(configured, max_size=max(configured.max_size, KEY_COUNT))  # nothing evicted
        contenders: list[Contender] = []
        for variant, copies in ((config, True), (opt_out_config(config), False)):
            provider = MemoryCacheProvider(variant)
            stack.callback(provider.close)
            contenders += memory_contenders(self.workload, provider, variant, copies=copies)
        observed = MemoryCacheProvider(config)
        stack.callback(observed.close)
        contenders += metrics_contenders(MEMORY_CASE, observed, self.workload, self.notes, scale=MEMORY_SCALE)
        featured = MemoryCacheProvider(config)
        stack.callback(featured.close)
        runner = stack.enter_context(asyncio.Runner())
        contenders += compute_contenders("memory", featured, self.workload, runner, scale=MEMORY_SCALE)
        return contenders


def _by_case(contenders: list[Contender]) -> list[Contender]:
    """Contenders grouped by case, cases in first-seen order (the table's order)."""
    order = {case: index for index, case in enumerate(dict.fromkeys(c.case for c in contenders))}
    return sorted(contenders, key=lambda c: order[c.case])
