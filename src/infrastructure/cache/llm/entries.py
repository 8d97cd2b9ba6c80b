"""What the LLM cache stores per request: the answer and what it cost.

An entry is a plain dict (the providers store msgpack data)::

    {"format": 1, "response": {...}}            # complete(): the response
    {"format": 1, "chunks": [{...}, ...]}       # stream(): every chunk, in order
      + "model": the model asked for, "response_model": the model that answered (or None),
        "prompt_tokens", "completion_tokens": the answer's usage (0 when it reported none),
        "duration": seconds the model call took, "created": when it was made (Unix time)

The usage is read from the response's ``usage`` (OpenAI's ``prompt_tokens``/``completion_tokens``,
or Anthropic's ``input_tokens``/``output_tokens``); for a stream, from the last chunk that carries
one (OpenAI sends it when asked with ``stream_options: {include_usage: true}``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from src.interfaces.llm.cache import (
    CacheError,
    CacheSerializationError,
    CacheUnavailableError,
    ICacheProvider,
)

logger = logging.getLogger(__name__)

#: Version of the entry's layout; an entry of another version is not ours to read (a miss).
ENTRY_FORMAT = 1
#: Rounds through the cache for one request: a value that is not an entry of ours is deleted once,
#: then the request goes through compute-once again (and is stored); if another program writes
#: there again meanwhile, the model is asked without the cache.
TRIES = 2


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens and time of one model call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration: float = 0.0


def as_record(value: Any, what: str) -> dict[str, Any]:
    """``value`` (a response or a chunk) as a plain dict: a mapping, or an SDK object's
    ``model_dump(mode="json")``. ``TypeError`` saying what to return instead."""
    if isinstance(value, dict):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        record = dump(mode="json")
        if isinstance(record, dict):
            return record
    raise TypeError(
        f"the model call returned a {type(value).__name__} as {what}; return an OpenAI-style dict "
        "(or an SDK object with model_dump())"
    )


def response_entry(model: str, response: dict[str, Any], duration: float) -> dict[str, Any]:
    """The entry of a completed call."""
    return _entry(
        model,
        "response",
        response,
        answered_by=response.get("model"),
        usage=response.get("usage"),
        duration=duration,
    )


def stream_entry(model: str, chunks: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    """The entry of a stream that completed."""
    answered_by = next((chunk["model"] for chunk in chunks if isinstance(chunk.get("model"), str)), None)
    usage = next((chunk["usage"] for chunk in reversed(chunks) if chunk.get("usage")), None)
    return _entry(model, "chunks", chunks, answered_by=answered_by, usage=usage, duration=duration)


def _entry(
    model: str, field: str, answer: Any, *, answered_by: Any, usage: Any, duration: float
) -> dict[str, Any]:
    prompt, completion = _tokens(usage)
    return {
        "format": ENTRY_FORMAT,
        field: answer,
        "model": model,
        "response_model": answered_by if isinstance(answered_by, str) else None,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "duration": duration,
        "created": time.time(),
    }


def _tokens(usage: Any) -> tuple[int, int]:
    if not isinstance(usage, Mapping):
        return 0, 0
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    return _count(prompt), _count(completion)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def is_entry(value: Any, field: str) -> bool:
    """True if ``value`` is an entry of this format holding ``field`` (``response`` or ``chunks``)."""
    return isinstance(value, dict) and value.get("format") == ENTRY_FORMAT and field in value


def usage_of(entry: Mapping[str, Any]) -> Usage:
    """The tokens and duration an entry records."""
    return Usage(
        _count(entry.get("prompt_tokens")),
        _count(entry.get("completion_tokens")),
        float(entry.get("duration") or 0.0),
    )


def drop_foreign(cache: ICacheProvider, key: str) -> None:
    """Delete what another program stored under one of our keys (the caller asks the model then)."""
    logger.warning("llm cache: %s holds no entry of this format; deleted, asking the model", key)
    cache.delete(key)


async def drop_foreign_async(cache: ICacheProvider, key: str) -> None:
    """Async twin of :func:`drop_foreign`."""
    logger.warning("llm cache: %s holds no entry of this format; deleted, asking the model", key)
    await cache.delete_async(key)


def rescuable(produced: dict[str, Any] | None, exc: CacheError) -> bool:
    """Whether a caller still answers despite ``exc`` from ``get_or_set``: its own answer
    (``produced``) was refused (too large) or could not be written (the backend went away after
    the call); or the call it shared answered but was refused, so it asks the model itself. An
    access error always reaches the caller: a misconfiguration must be seen."""
    if produced is not None:
        return isinstance(exc, CacheSerializationError | CacheUnavailableError)
    return isinstance(exc, CacheSerializationError)
