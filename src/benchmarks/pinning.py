"""CPU pinning of the benchmark's client and of a server it started.

On small VMs a loopback round trip costs ~15 µs when client and server share a CPU and ~100 µs
across CPUs, and the scheduler moves them between the two; pinning makes a run one or the other.
``same``: both on the first allowed CPU; ``split``: client on the first, server on the second;
``none``: the scheduler decides. Linux only (``os.sched_setaffinity``); elsewhere pinning is refused.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Literal

logger = logging.getLogger(__name__)

PinMode = Literal["same", "split", "none"]
PIN_MODES: tuple[PinMode, ...] = ("same", "split", "none")


class PinningError(RuntimeError):
    """The requested pinning is impossible here (one CPU for ``split``, no affinity API)."""


@dataclass(frozen=True)
class PinPlan:
    """The CPUs for the client process and for the server, or None to leave one unpinned."""

    mode: PinMode
    client: frozenset[int] | None
    server: frozenset[int] | None

    def describe(self, server_pinned: bool) -> str:
        if self.mode == "none":
            return "none (the scheduler places client and server)"
        client = f"client on CPU {_cpus(self.client)}"
        if not server_pinned:
            return f"{self.mode}: {client}; server not pinned (not started by the benchmark)"
        return f"{self.mode}: {client}, redis-server on CPU {_cpus(self.server)}"


def plan(mode: PinMode) -> PinPlan:
    """Choose CPUs for ``mode`` among those this process may run on."""
    if mode == "none":
        return PinPlan(mode, None, None)
    if not hasattr(os, "sched_getaffinity"):
        raise PinningError("CPU pinning needs Linux (os.sched_setaffinity); use --pin none")
    allowed = sorted(os.sched_getaffinity(0))
    if mode == "split":
        if len(allowed) < 2:
            raise PinningError(f"--pin split needs two CPUs, this process may use {len(allowed)}")
        return PinPlan(mode, frozenset(allowed[:1]), frozenset(allowed[1:2]))
    return PinPlan(mode, frozenset(allowed[:1]), frozenset(allowed[:1]))


def pin_client(cpus: frozenset[int] | None) -> frozenset[int] | None:
    """Pin this thread (the benchmark's) to ``cpus``; returns the previous set, to restore, or None."""
    if cpus is None:
        return None
    previous = frozenset(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cpus)
    return previous


def restore_client(previous: frozenset[int] | None) -> None:
    """Undo :func:`pin_client`."""
    if previous is not None:
        os.sched_setaffinity(0, previous)


def pin_process(pid: int, cpus: frozenset[int] | None) -> None:
    """Pin every thread of process ``pid`` (a server the benchmark started) to ``cpus``."""
    if cpus is None:
        return
    try:
        threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        threads = [pid]
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:  # a thread that ended meanwhile
            logger.debug("thread %d of process %d ended before it could be pinned", tid, pid)


def _cpus(cpus: frozenset[int] | None) -> str:
    return ",".join(map(str, sorted(cpus or ())))
