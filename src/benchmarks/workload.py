"""What every contender reads and writes: LLM-response records under prompt-hash keys.

The value is the record an agent caches per LLM call (id, model, text, token usage, finish
reason), padded so that its msgpack encoding is ``value_bytes`` long (~300 bytes by default). Keys
look like the ones such an agent builds: ``llm:<model>:<sha256 of the prompt, 32 hex>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

#: Distinct keys each contender cycles through (all present before a read is timed: reads are hits).
KEY_COUNT = 1000
#: Keys per ``get_many``/``set_many`` call, and per raw MGET / pipeline.
BATCH_SIZE = 100
#: TTL of every entry written, in seconds (raw contenders write ``SET ... EX`` with it).
TTL_SECONDS = 3600
_MODEL = "gpt-4o-mini-2024-07-18"


@dataclass(frozen=True)
class Workload:
    """The keys and the value of one run; ``value_bytes`` is the value's msgpack size."""

    keys: tuple[str, ...]
    value: dict[str, Any]
    value_bytes: int

    @property
    def batches(self) -> tuple[tuple[str, ...], ...]:
        """The keys cut into ``BATCH_SIZE`` slices."""
        return tuple(self.keys[i : i + BATCH_SIZE] for i in range(0, len(self.keys), BATCH_SIZE))


def each_key(keys: Sequence[str], call: Callable[[str], object]) -> Callable[[int], int]:
    """A timed loop for a contender: ``run(ops)`` calls ``call`` on ``keys`` in turn, ``ops`` times."""
    count = len(keys)

    def run(ops: int) -> int:
        for i in range(ops):
            call(keys[i % count])
        return ops

    return run


def make_workload(value_bytes: int = 300, key_count: int = KEY_COUNT) -> Workload:
    """Keys and a record whose msgpack encoding is ``value_bytes`` long (at least the bare record's)."""
    keys = tuple(key_for(i) for i in range(key_count))
    value = llm_record("")
    missing = value_bytes - len(msgpack.packb(value))
    if missing > 0:
        value = llm_record("x" * missing)
        # A str header grows from 1 to 2 (32 bytes) or 3 bytes (256): trim what it added.
        excess = len(msgpack.packb(value)) - value_bytes
        value = llm_record("x" * max(0, missing - excess))
    return Workload(keys=keys, value=value, value_bytes=len(msgpack.packb(value)))


def key_for(number: int) -> str:
    """The key of prompt number ``number``: ``llm:<model>:<32 hex of its sha256>``."""
    return f"llm:{_MODEL}:{hashlib.sha256(f'prompt {number}'.encode()).hexdigest()[:32]}"


def llm_record(padding: str) -> dict[str, Any]:
    """One cached chat-completion record; ``padding`` lengthens its text."""
    return {
        "id": "chatcmpl-9xKq2Lw7RZb0aM3nTfYv8cPd",
        "model": _MODEL,
        "created": 1_717_171_717,
        "text": "The deployment failed because the health check timed out after 30 s. " + padding,
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 412, "completion_tokens": 57, "total_tokens": 469},
        "cached": False,
    }
