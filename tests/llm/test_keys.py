"""Keys of the LLM-response cache: complete (every field group changes them), canonical (mapping
order and spelling do not), with a deny-list that changes nothing, and explain() without secrets.

The field groups are those of issue 13; the cases that peers get wrong are named after them.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from src.infrastructure.cache.llm.fields import IGNORED_FIELDS
from src.infrastructure.cache.llm.keys import KEY_FORMAT, RequestKeys
from tests.llm.builders import TOOL_INCIDENT, TOOL_PAGE, chat_request

KEYS = RequestKeys("llm")

Change = Callable[[dict[str, Any]], Any]


def key(request: dict[str, Any], kind: str = "chat") -> str:
    return KEYS.build(request, kind).key  # type: ignore[arg-type]


def changed(change: Change) -> dict[str, Any]:
    request = chat_request()
    change(request)
    return request


def _image(data: bytes, media_type: str = "image/png") -> dict[str, Any]:
    url = f"data:{media_type};base64,{base64.b64encode(data).decode()}"
    return {"type": "image_url", "image_url": {"url": url, "detail": "high"}}


def _with_image(data: bytes) -> Change:
    def change(request: dict[str, Any]) -> None:
        request["messages"][-1]["content"] = [
            {"type": "text", "text": "What is on this chart?"},
            _image(data),
        ]

    return change


def _set(path: str, value: Any) -> Change:
    """A change setting ``value`` at ``path``: dotted names and [indexes], from the request's top."""

    def change(request: dict[str, Any]) -> None:
        parts = [int(part) if part.lstrip("-").isdigit() else part for part in re.findall(r"[^.\[\]]+", path)]
        target: Any = request
        for part in parts[:-1]:
            target = target[part]
        target[parts[-1]] = value

    return change


# Each group of the issue: changes that must each give another key than the base request.
DIFFERENT: dict[str, Change] = {
    # target
    "provider": _set("provider", "azure"),
    "api_base (LiteLLM shares it)": _set("api_base", "https://eu.example-gateway.com/v1"),
    "deployment": _set("deployment", "gpt4o-eu"),
    "api_version": _set("api_version", "2024-10-21"),
    "model": _set("model", "gpt-4o-mini"),
    "model snapshot": _set("model", "gpt-4o-2024-11-20"),
    "organization": _set("organization", "org-other"),
    # the whole message list (GPTCache keys the last message only, without the model)
    "an earlier message": _set("messages[1].content", "Status of incident INC-999?"),
    "a role": _set("messages[0].role", "developer"),
    "a name": _set("messages[1].name", "alice"),
    "a tool call id": _set("messages[2].tool_calls[0].id", "call_xyz"),
    "tool call arguments": _set("messages[2].tool_calls[0].function.arguments", '{"id": "INC-7"}'),
    "a tool result's call id": _set("messages[3].tool_call_id", "call_xyz"),
    "message order": lambda r: r["messages"].insert(1, r["messages"].pop(4)),
    "one more message": lambda r: r["messages"].append({"role": "user", "content": "Thanks"}),
    "content as parts": _set(
        "messages[-1].content", [{"type": "text", "text": "Summarise all of them for the handover."}]
    ),
    "an image's bytes": _with_image(b"\x89PNG chart two"),
    "an image's detail": lambda r: (
        _with_image(b"\x89PNG chart one")(r),
        _set("messages[-1].content[1].image_url.detail", "low")(r),
    ),
    "audio input": _set(
        "messages[-1].content",
        [{"type": "input_audio", "input_audio": {"data": "QUJD" * 100, "format": "wav"}}],
    ),
    # tools
    "a tool's description": _set("tools[0].function.description", "Fetch one incident"),
    "a tool's schema": _set("tools[1].function.parameters.properties.urgent.type", "string"),
    "tool order (the model sees them in order)": _set("tools", [TOOL_PAGE, TOOL_INCIDENT]),
    "one tool fewer": _set("tools", [TOOL_INCIDENT]),
    "tool_choice": _set("tool_choice", {"type": "function", "function": {"name": "page_oncall"}}),
    "parallel_tool_calls": _set("parallel_tool_calls", False),
    # output shape
    "response_format": _set("response_format", {"type": "json_object"}),
    "a response schema": _set(
        "response_format",
        {
            "type": "json_schema",
            "json_schema": {
                "name": "s",
                "schema": {"type": "object", "properties": {"a": {"type": "integer"}}},
            },
        },
    ),
    "n": _set("n", 3),
    "stop": _set("stop", ["\n\n"]),
    "stop order": _set("stop", ["END", "\n\n"]),
    "max_tokens": _set("max_tokens", 1024),
    "max_completion_tokens": _set("max_completion_tokens", 512),
    "logprobs": _set("logprobs", True),
    "top_logprobs": _set("top_logprobs", 5),
    "stream_options (a usage chunk)": _set("stream_options", {"include_usage": True}),
    # sampling and reasoning
    "temperature": _set("temperature", 0.2),
    "top_p": _set("top_p", 0.9),
    "seed": _set("seed", 7),
    "frequency_penalty": _set("frequency_penalty", 0.5),
    "presence_penalty": _set("presence_penalty", 0.5),
    "logit_bias": _set("logit_bias", {"1234": -100}),
    "reasoning_effort": _set("reasoning_effort", "high"),
    # provider extras, in the key by default
    "extra_body.thinking (LiteLLM shares it)": _set(
        "extra_body", {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    ),
    "num_ctx (LiteLLM shares it)": _set("num_ctx", 8192),
    "extra_body.options.num_ctx": _set("extra_body", {"options": {"num_ctx": 8192}}),
    "a beta header": _set("extra_headers", {"anthropic-beta": "output-128k-2025-02-19"}),
    "a query parameter": _set("extra_query", {"api-version": "2024-10-21"}),
    "a parameter nobody listed": _set("verbosity_next_year", "low"),
}


def test_the_key_layout_is_namespace_format_kind_and_sha256() -> None:
    assert re.fullmatch(rf"llm:{KEY_FORMAT}:chat:[0-9a-f]{{64}}", key(chat_request()))
    assert re.fullmatch(rf"llm:{KEY_FORMAT}:stream:[0-9a-f]{{64}}", key(chat_request(), "stream"))
    assert RequestKeys("team-a").build(chat_request(), "chat").key.startswith("team-a:v1:chat:")


def test_the_key_is_the_same_in_every_call_and_for_a_copy() -> None:
    assert key(chat_request()) == key(chat_request()) == key(json.loads(json.dumps(chat_request())))


@pytest.mark.parametrize("change", DIFFERENT.values(), ids=DIFFERENT.keys())
def test_a_request_differing_in_one_field_group_gets_another_key(change: Change) -> None:
    assert key(changed(change)) != key(chat_request())


def test_every_change_gives_a_key_of_its_own() -> None:
    keys = {key(changed(change)) for change in DIFFERENT.values()}
    assert len(keys) == len(DIFFERENT)


def test_the_kind_and_the_namespace_are_in_the_key() -> None:
    request = chat_request()
    assert key(request, "chat") != key(request, "stream")
    assert RequestKeys("a").build(request, "chat").key != RequestKeys("b").build(request, "chat").key


# ---------------------------------------------------------------- canonical


def _reordered(value: Any) -> Any:
    """``value`` with every mapping's items in reverse order (lists untouched)."""
    if isinstance(value, dict):
        return {name: _reordered(value[name]) for name in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


def test_reordered_mappings_get_the_same_key_at_every_depth() -> None:
    request = chat_request(
        response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}},
        extra_body={"thinking": {"type": "enabled", "budget_tokens": 1024}, "top_k": 5},
        extra_headers={"anthropic-beta": "x", "OpenAI-Beta": "assistants=v2"},
    )
    reordered = _reordered(request)
    assert json.dumps(reordered) != json.dumps(request)  # the order really differs
    assert key(reordered) == key(request)


SAME: dict[str, Change] = {
    "1.0 for 1": _set("temperature", 0.0),
    "max_tokens 512.0": _set("max_tokens", 512.0),
    "a tuple for a list": _set("tools", (TOOL_INCIDENT, TOOL_PAGE)),
    "a None field (clients do not send it)": _set("top_p", None),
    "a None inside a message": _set("messages[1].name", None),
    "base_url for api_base": lambda r: r.update(base_url="https://API.example.com:443/v1/"),
    "header names in any case": lambda r: r.update(extra_headers={"Anthropic-Beta": "b1"}),
}
SAME_AS: dict[str, Change] = {
    "base_url for api_base": lambda r: r.update(api_base="https://api.example.com/v1"),
    "header names in any case": lambda r: r.update(extra_headers={"anthropic-beta": "b1"}),
}


@pytest.mark.parametrize("name", SAME)
def test_spellings_of_one_request_share_a_key(name: str) -> None:
    reference = changed(SAME_AS.get(name, lambda r: None))
    assert key(changed(SAME[name])) == key(reference)


# ---------------------------------------------------------------- the deny-list


def _value_for(field: str) -> Any:
    return {"stream": True, "max_retries": 5, "timeout": 30.0, "metadata": {"run": "abc"}, "store": True}.get(
        field, f"value-of-{field}"
    )


@pytest.mark.parametrize("field", IGNORED_FIELDS)
def test_a_deny_listed_field_does_not_change_the_key(field: str) -> None:
    assert key(chat_request(**{field: _value_for(field)})) == key(chat_request())


@pytest.mark.parametrize("field", IGNORED_FIELDS)
def test_a_deny_listed_field_inside_extra_body_does_not_either(field: str) -> None:
    with_field = chat_request(extra_body={"top_k": 3, field: _value_for(field)})
    assert key(with_field) == key(chat_request(extra_body={"top_k": 3}))


CREDENTIALS_IN_TRANSPORT: dict[str, dict[str, Any]] = {
    "authorization header": {"extra_headers": {"Authorization": "Bearer sk-one", "anthropic-beta": "b"}},
    "api-key header": {"extra_headers": {"api-key": "azure-one", "anthropic-beta": "b"}},
    "tracing headers": {
        "extra_headers": {"X-Request-ID": "r1", "traceparent": "00-1", "anthropic-beta": "b"}
    },
    "sdk telemetry": {"extra_headers": {"X-Stainless-Retry-Count": "2", "anthropic-beta": "b"}},
    "password in api_base": {"api_base": "https://agent:hunter2@api.example.com/v1"},
    "key in api_base's query": {"api_base": "https://api.example.com/v1?key=AIza-one"},
    "key in extra_query": {"extra_query": {"key": "AIza-one", "alt": "sse"}},
}
CREDENTIALS_OTHER: dict[str, dict[str, Any]] = {
    "authorization header": {"extra_headers": {"Authorization": "Bearer sk-two", "anthropic-beta": "b"}},
    "api-key header": {"extra_headers": {"api-key": "azure-two", "anthropic-beta": "b"}},
    "tracing headers": {"extra_headers": {"X-Request-ID": "r2", "anthropic-beta": "b"}},
    "sdk telemetry": {"extra_headers": {"anthropic-beta": "b"}},
    "password in api_base": {"api_base": "https://other:pass@api.example.com/v1"},
    "key in api_base's query": {"api_base": "https://api.example.com/v1?key=AIza-two"},
    "key in extra_query": {"extra_query": {"key": "AIza-two", "alt": "sse"}},
}


@pytest.mark.parametrize("case", CREDENTIALS_IN_TRANSPORT)
def test_credentials_and_tracing_in_headers_urls_and_queries_do_not_change_the_key(case: str) -> None:
    assert key(chat_request(**CREDENTIALS_IN_TRANSPORT[case])) == key(chat_request(**CREDENTIALS_OTHER[case]))


def test_keep_fields_puts_a_deny_listed_field_back_and_ignore_fields_adds_one() -> None:
    per_user = RequestKeys("llm", keep_fields=["user"])
    assert (
        per_user.build(chat_request(user="u1"), "chat").key
        != per_user.build(chat_request(user="u2"), "chat").key
    )
    lax = RequestKeys("llm", ignore_fields=["temperature"])
    assert lax.build(chat_request(temperature=0.9), "chat").key == lax.build(chat_request(), "chat").key


# ---------------------------------------------------------------- binary parts


def test_binary_parts_are_keyed_by_content_hash() -> None:
    image = b"\x89PNG" + bytes(range(256)) * 4000  # ~1 MB
    one, same, other = (changed(_with_image(data)) for data in (image, bytes(image), image + b"!"))
    assert key(one) == key(same) != key(other)
    shown = json.dumps(KEYS.explain(one, "chat", "cache"))
    assert len(shown) < 10_000  # the explanation is short: the image is a hash
    assert "<binary image/png," in shown


def test_bytes_values_are_keyed_by_content_hash() -> None:
    one = chat_request(extra_body={"audio": b"\x00\x01" * 1000})
    assert key(one) == key(chat_request(extra_body={"audio": b"\x00\x01" * 1000}))
    assert key(one) != key(chat_request(extra_body={"audio": b"\x00\x02" * 1000}))


def test_a_text_equal_to_a_binary_marker_is_not_the_binary() -> None:
    image = changed(_with_image(b"abc"))
    marker = KEYS.explain(image, "chat", "cache")["included"]["messages"][-1]["content"][1]["image_url"][
        "url"
    ]
    as_text = copy.deepcopy(image)
    _set("messages[-1].content[1].image_url.url", marker)(as_text)
    assert key(as_text) != key(image)


# ---------------------------------------------------------------- sampled requests


@pytest.mark.parametrize(
    ("changes", "sampled"),
    [
        ({"temperature": 0}, False),
        ({"temperature": 0.7}, True),
        ({"temperature": None}, True),  # absent: the providers' default is 1
        ({"temperature": 0.7, "seed": 42}, False),
        ({"temperature": None, "extra_body": {"seed": 1}}, False),
    ],
)
def test_a_request_is_sampled_without_seed_at_a_temperature_above_zero(
    changes: dict[str, Any], sampled: bool
) -> None:
    assert KEYS.build(chat_request(**changes), "chat").sampled is sampled


# ---------------------------------------------------------------- explain


def test_explain_shows_what_went_in_and_what_was_left_out_never_a_credential() -> None:
    secrets = ["sk-live-123", "Bearer tok-456", "hunter2", "AIza-789", "vault-000", "sess-111"]
    request = chat_request(
        api_key=secrets[0],
        extra_headers={"Authorization": secrets[1], "anthropic-beta": "b"},
        api_base=f"https://agent:{secrets[2]}@api.example.com/v1?key={secrets[3]}",
        extra_body={"vault_token": secrets[4], "thinking": {"type": "enabled"}},
        aws_session_token=secrets[5],
        user="alice",
        stream=True,
    )
    explained = KEYS.explain(request, "chat", "cache")

    text = json.dumps(explained)
    assert [secret for secret in secrets if secret in text] == []
    assert explained["key"] == key(request)
    assert explained["included"]["extra_body"] == {"vault_token": "***", "thinking": {"type": "enabled"}}
    assert explained["included"]["api_base"] == "https://api.example.com/v1"
    assert explained["included"]["extra_headers"] == {"anthropic-beta": "b"}
    assert set(explained["ignored"]) >= {
        "api_key",
        "user",
        "stream",
        "aws_session_token",
        "extra_headers.authorization",
    }
    assert (explained["format"], explained["kind"], explained["sampled"]) == (KEY_FORMAT, "chat", False)


def test_explain_names_the_policy_of_a_sampled_request() -> None:
    explained = KEYS.explain(chat_request(temperature=0.9), "stream", "bypass")
    assert (explained["kind"], explained["sampled"], explained["policy"]) == ("stream", True, "bypass")


# ---------------------------------------------------------------- what is not a request


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [
        ("hello", TypeError, "mapping"),
        ({"messages": []}, ValueError, r"request\['model'\]"),
        ({"model": "", "messages": []}, TypeError, r"request\['model'\]"),
        ({"model": "m", "messages": "hi"}, TypeError, r"request\['messages'\]"),
        ({"model": "m"}, TypeError, r"request\['messages'\]"),
        (
            {"model": "m", "messages": [{"role": "user", "content": object()}]},
            TypeError,
            r"request\['messages'\]\[0\]\['content'\]: a builtins.object",
        ),
        ({"model": "m", "messages": [], 3: "x"}, TypeError, "field names are str"),
        (
            {"model": "m", "messages": [], "api_base": "https://a", "base_url": "https://b"},
            ValueError,
            "twice",
        ),
    ],
)
def test_what_is_not_a_request_is_refused_naming_the_field(
    request_: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        key(request_)


def test_sdk_objects_are_keyed_as_their_model_dump() -> None:
    class Message:
        def model_dump(self, **_: Any) -> dict[str, Any]:
            return {"role": "user", "content": "Summarise all of them for the handover."}

    request = chat_request()
    request["messages"][-1] = Message()
    assert key(request) == key(chat_request())


def test_a_request_is_not_changed_by_keying_it() -> None:
    request = chat_request(api_key="sk", extra_headers={"Authorization": "x"}, temperature=1.0)
    before = copy.deepcopy(request)
    key(request)
    KEYS.explain(request, "chat", "cache")
    assert request == before
