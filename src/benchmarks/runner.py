"""Timing contenders in interleaved rounds, so that machine noise hits every contender alike.

Each round runs every contender once, in an order rotated by one place per round; a contender's
figure is the median over the rounds, and a ratio between two contenders is the median of their
per-round ratios (paired samples taken moments apart). Wall time and the client process's CPU time
(``time.process_time``: user + system, every thread) are taken around each run.
"""

from __future__ import annotations

import gc
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

#: Called with one line of progress (the CLI prints it on stderr).
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Contender:
    """One way of doing a case's work. ``run(n)`` performs about ``n`` key-operations and returns
    how many it did (a batch contender rounds ``n`` to whole batches).

    ``role`` says what the contender stands for in the ratios (``ours``, ``bare``, ``raw``, ...);
    ``scale`` multiplies the run's operation count (in-process contenders are ~10x faster).
    """

    case: str
    name: str
    role: str
    run: Callable[[int], int]
    scale: int = 1


@dataclass
class Samples:
    """Seconds per operation of one contender, one entry per round."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def ops_per_second(self) -> list[float]:
        return [1 / seconds for seconds in self.wall]

    def median_wall(self) -> float:
        return statistics.median(self.wall)

    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def run_rounds(
    contenders: Sequence[Contender], rounds: int, ops: int, progress: Progress | None = None
) -> dict[tuple[str, str], Samples]:
    """Warm every contender up, then time ``rounds`` interleaved rounds; samples by (case, name)."""
    say = progress or logger.info
    samples = {(c.case, c.name): Samples() for c in contenders}
    say(f"warming up {len(contenders)} contenders")
    for contender in contenders:
        contender.run(max(1, min(ops, 200)) * contender.scale)
    count = len(contenders)
    for number in range(rounds):
        started = time.perf_counter()
        shift = number % count
        for contender in [*contenders[shift:], *contenders[:shift]]:
            wall, cpu = _time_one(contender, ops * contender.scale)
            entry = samples[(contender.case, contender.name)]
            entry.wall.append(wall)
            entry.cpu.append(cpu)
        say(f"round {number + 1}/{rounds} done in {time.perf_counter() - started:.1f} s")
    return samples


def _time_one(contender: Contender, ops: int) -> tuple[float, float]:
    """Seconds of wall time and of process CPU time per operation, for one run of ``ops``."""
    gc.collect()  # start every run with the same (empty) garbage to collect
    cpu_started = time.process_time()
    started = time.perf_counter()
    done = contender.run(ops)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return wall / done, cpu / done
