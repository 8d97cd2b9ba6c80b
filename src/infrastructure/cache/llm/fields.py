"""Which request fields stay out of LLM-response keys, and which spellings mean the same field.

Constants only (the config package reads :data:`IGNORED_FIELDS` too, to check ``keep_fields``).
Everything not named here is in the key: a deny-list, not an allow-list, so a parameter added by a
provider next year changes the key from the first day - LiteLLM's allow-list is why its requests
differing only in ``api_base``, ``num_ctx`` or ``extra_body.thinking`` share an answer.
"""

from __future__ import annotations

import re

_TRANSPORT = "how the call is made, not what is asked"
_CREDENTIAL = "a credential: who pays, not what is asked (and never shown)"
_WHO = "who asks, or how the call is logged: the same question gets the same answer"

#: Top-level fields (and top-level keys of ``extra_body``) left out of keys, with why.
#: ``stream``: the entry's kind (a completion or a stream) is in the key in its place.
IGNORED_FIELDS: dict[str, str] = {
    "stream": "the entry kind (chat or stream) is in the key instead",
    "timeout": _TRANSPORT,
    "request_timeout": _TRANSPORT,
    "max_retries": _TRANSPORT,
    "num_retries": _TRANSPORT,
    "api_key": _CREDENTIAL,
    "azure_ad_token": _CREDENTIAL,
    "azure_ad_token_provider": _CREDENTIAL,
    "aws_access_key_id": _CREDENTIAL,
    "aws_secret_access_key": _CREDENTIAL,
    "aws_session_token": _CREDENTIAL,
    "vertex_credentials": _CREDENTIAL,
    # A per-user key would never hit across users; tenants who must not learn (by an answer's
    # speed) that another asked the same keep it (keep_fields: [user]) or use their own namespace.
    "user": _WHO,
    "safety_identifier": _WHO,
    "metadata": _WHO,
    "store": _WHO,
    "prompt_cache_key": "routes the provider's own prompt cache; the answer is the same",
    "request_id": _WHO,
    "idempotency_key": _WHO,
}

#: Fields that are other spellings of one target field: the first is how the key holds it.
ALIASES: dict[str, str] = {
    "base_url": "api_base",
    "custom_llm_provider": "provider",
    "deployment_id": "deployment",
    "azure_deployment": "deployment",
}

#: Fields holding HTTP headers, and query parameters: kept, less the entries below.
HEADER_FIELDS = frozenset({"extra_headers", "headers"})
QUERY_FIELDS = frozenset({"extra_query"})
#: Header names (lower case) that carry credentials, or only trace or identify the call.
IGNORED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
        "openai-organization",  # kept in the body as organization; the header is the SDK's copy
        "openai-project",
        "x-request-id",
        "x-client-request-id",
        "request-id",
        "idempotency-key",
        "traceparent",
        "tracestate",
        "baggage",
        "user-agent",
    }
)
#: Headers by prefix: the OpenAI SDKs' platform and retry telemetry.
IGNORED_HEADER_PREFIXES = ("x-stainless-",)
#: Query parameters (lower case) that carry credentials (Gemini's ``key``, Azure's ``api-key``).
IGNORED_QUERY = frozenset({"key", "api-key", "api_key", "access_token", "token", "sig", "signature"})

#: A field name whose value :meth:`explain` shows as ``'***'`` wherever it sits (outside messages).
SECRET_NAME = re.compile(
    r"(?i)(^|[-_])(api[-_]?key|key|token|secret|password|passwd|authorization|credentials?|cookie|sig|signature)$"
)

#: Content-part fields holding base64 data (``input_audio.data``, Anthropic's ``source.data``,
#: Gemini's ``inline_data.data``, OpenAI's ``file.file_data``): hashed like ``data:`` URLs.
BASE64_FIELDS = frozenset({"data", "file_data", "b64_json"})
#: Shorter base64 fields are kept as they are: hashing them would make :meth:`explain` no shorter.
BASE64_MIN_LENGTH = 128
