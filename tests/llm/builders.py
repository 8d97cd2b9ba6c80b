"""Requests, responses and streams like an agent's, for the LLM-response cache tests."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from src.benchmarks.llm_contenders import agent_request


def chat_request(**changes: Any) -> dict[str, Any]:
    """A realistic agent request (``agent_request()``: 20 messages - system, user turns, tool calls
    and results - two tools, temperature 0). ``changes`` replace top-level fields."""
    request = agent_request()
    request.update(copy.deepcopy(changes))
    return request


TOOL_INCIDENT, TOOL_PAGE = agent_request()["tools"]


def response_for(
    text: str, model: str = "gpt-4o-2024-08-06", prompt: int = 120, completion: int = 30
) -> dict[str, Any]:
    """An OpenAI-style chat completion answering ``text``."""
    return {
        "id": f"chatcmpl-{hashlib.sha256(text.encode()).hexdigest()[:12]}",  # the same in every process
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def chunks_for(text: str, model: str = "gpt-4o-2024-08-06", usage: bool = True) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` dicts of a stream answering ``text``, one word per chunk, with a
    final usage chunk (as ``stream_options: {include_usage: true}`` asks)."""
    base = {
        "id": "chatcmpl-stream",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
    }
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
        for word in text.split()
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage:
        chunks.append(
            {**base, "choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": len(text.split())}}
        )
    return chunks


class StandInModel:
    """A model endpoint for tests: answers ``text`` after ``delay`` seconds and counts its calls
    (thread-safe), sync and async, whole or streamed."""

    def __init__(self, text: str = "All six incidents are open; two are sev 0.", delay: float = 0.0) -> None:
        self.text, self.delay = text, delay
        self.calls = 0
        self._lock = threading.Lock()

    def _count(self) -> None:
        with self._lock:
            self.calls += 1

    def complete(self) -> dict[str, Any]:
        self._count()
        time.sleep(self.delay)
        return response_for(self.text)

    async def complete_async(self) -> dict[str, Any]:
        self._count()
        await asyncio.sleep(self.delay)
        return response_for(self.text)

    def stream(self) -> Iterator[dict[str, Any]]:
        self._count()
        for chunk in chunks_for(self.text):
            time.sleep(self.delay / 10)
            yield chunk

    async def stream_async(self) -> AsyncIterator[dict[str, Any]]:
        self._count()
        for chunk in chunks_for(self.text):
            await asyncio.sleep(self.delay / 10)
            yield chunk
