"""The LLM-response cache's key building, per request, against the naive key of the same request.

The request is an agent's: 20 messages (a system prompt, six rounds of a user question, an
assistant tool call and its result, a last question) and two tools - what ``agent_request()``
builds, also used by the tests. ``raw`` is the SHA-256 of ``json.dumps(request, sort_keys=True)``:
what a cache that keys the whole request as it is would pay, without the normal form (deny-list,
aliases, ``1`` for ``1.0``, binary parts by hash) or the typed canonical encoding.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

from src.benchmarks.ratios import LLM_KEY_CASE as CASE
from src.benchmarks.runner import Contender
from src.infrastructure.cache.llm.keys import RequestKeys

_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_incident",
            "description": "Fetch an incident by id",
            "parameters": {
                "type": "object",
                "properties": {"id": {"type": "string", "description": "INC-<number>"}},
                "required": ["id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "page_oncall",
            "description": "Page the on-call engineer of a team",
            "parameters": {
                "type": "object",
                "properties": {
                    "team": {"type": "string", "enum": ["payments", "search", "platform"]},
                    "urgent": {"type": "boolean"},
                },
                "required": ["team"],
            },
        },
    },
]


def agent_request() -> dict[str, Any]:
    """A realistic agent request: 20 messages with tool calls and results, two tools, temperature 0."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are the on-call assistant. Use the tools; answer briefly."}
    ]
    for turn in range(6):
        call_id = f"call_{turn:03d}"
        arguments = json.dumps({"id": f"INC-{100 + turn}"})
        messages += [
            {"role": "user", "content": f"Status of incident INC-{100 + turn}?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "get_incident", "arguments": arguments},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": call_id,
                "content": json.dumps({"state": "open", "sev": turn % 3}),
            },
        ]
    messages.append({"role": "user", "content": "Summarise all of them for the handover."})
    return {
        "model": "gpt-4o-2024-08-06",
        "messages": messages,
        "tools": copy.deepcopy(_TOOLS),
        "tool_choice": "auto",
        "temperature": 0,
        "max_tokens": 512,
    }


def llm_key_contenders() -> list[Contender]:
    """``ours`` (``RequestKeys.build``) and ``raw`` (SHA-256 of sorted JSON) on one request."""
    request = agent_request()
    keys = RequestKeys("llm")

    def ours() -> None:
        keys.build(request, "chat")

    def raw() -> None:
        hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()

    return [
        Contender(CASE, "agent-cache LLM cache key()", "ours", _repeat(ours)),
        Contender(CASE, "raw sha256(json.dumps(sort_keys=True))", "raw", _repeat(raw)),
    ]


def _repeat(work: Callable[[], None]) -> Callable[[int], int]:
    def run(ops: int) -> int:
        for _ in range(ops):
            work()
        return ops

    return run
