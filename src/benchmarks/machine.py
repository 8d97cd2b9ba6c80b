"""What a run ran on: CPUs, CPU model, and the versions of everything on the measured path."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

_PACKAGES = ("redis", "hiredis", "msgpack", "cachetools", "aiocache")


def machine_info() -> dict[str, Any]:
    """``nproc``, CPU model, OS and Python, and the installed version of each package on the path."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "nproc": allowed,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        **{name: _version(name) for name in _PACKAGES},
    }


def cpu_model() -> str:
    """The ``model name`` line of /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
