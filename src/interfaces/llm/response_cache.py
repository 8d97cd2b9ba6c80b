"""The LLM-response cache: a model's answers, keyed by everything that changes them, computed once.

Services resolve it from the container (``resolver.get(ILLMResponseCache)``) and put their model
calls through it; ``cache.llm`` in the YAML says which named cache holds the answers, for how long,
the sampled-request policy and the price table. It is a layer over an
:class:`~src.interfaces.llm.cache.ICacheProvider`, so it works on every provider.

**Requests** are OpenAI-style chat-completion dicts - ``model``, ``messages``, sampling parameters,
``tools``, ``response_format``, provider extras (``extra_body``, ...) - plus optional *target*
fields that say where the request goes: ``provider`` (alias ``custom_llm_provider``), ``api_base``
(alias ``base_url``), ``deployment`` (aliases ``deployment_id``, ``azure_deployment``),
``api_version``, or any other. That is the shape model clients and gateways (OpenAI, Azure, LiteLLM,
vLLM, Ollama's OpenAI endpoint) speak. ``model`` (a non-empty ``str``) and ``messages`` (a list)
are required; values are JSON-like (``dict``, ``list``/``tuple``, ``str``, numbers, ``bool``,
``None``, ``bytes``), or objects with ``model_dump()`` (an SDK's message objects). Anything else
is a ``TypeError`` naming where it sits.

**Keys** (:meth:`ILLMResponseCache.key`) hold *everything in the request by default* - an unknown
or new parameter changes the key, so a parameter nobody listed can never make two different
questions share an answer - except a documented deny-list of fields that do not change the answer:

* how the call is made: ``stream`` (the entry's kind, completion or stream, is in the key
  instead), ``timeout``, ``request_timeout``, ``max_retries``, ``num_retries``;
* credentials: ``api_key`` and the cloud credentials (``azure_ad_token``, ``aws_*`` keys,
  ``vertex_credentials``, ...); in ``extra_headers``/``headers`` and ``extra_query`` the
  credential and tracing entries (``Authorization``, ``api-key``, ``x-api-key``, ``Cookie``,
  ``key``, request ids, ``traceparent``, ``User-Agent``, ``x-stainless-*``); a user name and
  password inside ``api_base``;
* who asks and how it is logged: ``user``, ``safety_identifier``, ``metadata``, ``store``,
  ``prompt_cache_key``, ``request_id``, ``idempotency_key``.

The same deny-list applies to the top level of ``extra_body`` (its keys are merged into the
request body by the clients, so they mean what they mean at the top level). Everything else is in:
the target (provider, endpoint, deployment, API version, ``model`` as given - an alias such as
``gpt-4o`` is keyed as the alias, so pin a snapshot or keep TTLs short), the whole message list
(roles, names, every content part, tool calls and their ids, ``tool_call_id``), ``tools``,
``tool_choice``, ``parallel_tool_calls``, ``response_format`` with its schema, ``n``, ``stop``,
max tokens, ``logprobs``, every sampling and reasoning parameter, ``stream_options`` (it changes
the chunks a stream replays), ``organization``/``project`` (they keep tenants apart), ``extra_body``,
``extra_headers`` and ``extra_query`` (a beta header can change the answer).

Normalisation, so that requests that mean the same share a key:

* mapping order never matters (dicts are compared by content); list order always does - messages,
  content parts, ``stop``, and ``tools`` too: a model sees its tools in order and may answer
  differently, so reordered tools are another question (a missed hit, never a wrong answer);
* a mapping item whose value is ``None`` is the item left out (clients drop ``None`` before
  sending); a number is its value (``1`` and ``1.0`` are one number); a tuple is a list;
* aliases of a target field are one field (``base_url`` is ``api_base``); ``api_base`` is compared
  without user name, password, trailing ``/`` or case in scheme and host; header names ignore case;
* binary parts are replaced by their SHA-256 (and length and media type): ``data:...;base64,``
  URLs anywhere (images, files), base64 ``data``/``file_data`` of content parts (``input_audio``,
  Anthropic-style ``source``) and ``bytes`` values - so keys and :meth:`explain` stay short.

A key is ``<namespace>:v1:<kind>:<sha256>``: the namespace (``cache.llm.namespace``), the key
format's version (bumped whenever what a key holds changes, so old entries are never read by new
code), the kind (``chat`` for :meth:`complete`, ``stream`` for :meth:`stream`: a stream replays
chunks, a completion a whole response) and the digest of the canonical encoding
(:mod:`src.interfaces.llm.cache_keys`) of all the above. The deny-list can be extended
(``cache.llm.ignore_fields``) and entries taken off it (``cache.llm.keep_fields``, e.g. ``[user]``).

**Sampled requests** - no ``seed`` and a ``temperature`` above 0 or absent (the providers' default
is 1) - follow ``cache.llm.sampled``: ``cache`` (the default) stores and replays one sample, as any
other answer: every sample is a valid answer to the request, and agents asking the same thing get
one model call, which is this cache's purpose. ``bypass`` calls the model every time and stores
nothing, for callers that need independent draws (self-consistency voting). A caller that rejects
an answer (fails validation) removes it with :meth:`invalidate` before asking again.

**One model call per prompt**: :meth:`complete` runs the call through the provider's compute-once
``get_or_set``, so concurrent callers of one request - threads, tasks, and processes sharing a
Redis namespace - make one model call and all get its answer.

**What is stored** per request: the response (an OpenAI-style dict) or the stream's chunks, and
the model asked for, the response's model, the usage (prompt and completion tokens), the measured
duration of the model call and the time it was made: what :meth:`get_stats` reports savings from.

**Errors**: ``TypeError``/``ValueError`` for a request that is not one (naming the field); the
provider's :class:`~src.interfaces.llm.cache.CacheError` family for the cache; the call's own
exceptions unchanged. An answer the cache cannot store (too large, a type it cannot hold) or
cannot write (the backend went away after the call) is still returned, logged and counted in
``store_errors``: the model call was paid for. Never a credential in a message, a log, a stat or
:meth:`explain`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Generator, Iterable, Mapping
from typing import Any

#: A chat-completion request: see the module docstring.
ChatRequest = Mapping[str, Any]
#: An OpenAI-style response dict (``id``, ``model``, ``choices``, ``usage``, ...).
ChatResponse = dict[str, Any]
#: One streamed chunk, an OpenAI-style ``chat.completion.chunk`` dict.
Chunk = dict[str, Any]


class ILLMResponseCache(ABC):
    """Model answers by request: complete keys, one model call per prompt, streamed replay, savings."""

    @abstractmethod
    def key(self, request: ChatRequest, *, stream: bool = False) -> str:
        """The cache key of ``request`` as :meth:`complete` (or, with ``stream=True``, :meth:`stream`)
        stores it. No I/O. ``TypeError``/``ValueError`` naming the field for a request that is not one."""

    @abstractmethod
    def explain(self, request: ChatRequest, *, stream: bool = False) -> dict[str, Any]:
        """What went into the key of ``request``, for people: ``key``, ``namespace``, ``format``,
        ``kind``, ``sampled`` and the ``policy`` that applies, ``included`` (the normalised request
        the digest is taken of, binary parts shown as ``<binary ...>``) and ``ignored`` (each field
        left out, with why). Values under credential-like names are shown as ``'***'``; the
        deny-listed credentials do not appear at all."""

    @abstractmethod
    def complete(self, request: ChatRequest, call: Callable[[], Any]) -> ChatResponse:
        """The answer to ``request``: the stored one, else ``call()``'s, stored.

        ``call`` is a zero-argument callable that asks the model (the caller closes over the
        request: ``lambda: client.chat.completions.create(**request)``) and returns a response
        mapping, or an object with ``model_dump()`` (an SDK's response), which is stored and
        returned as its ``model_dump(mode="json")``. At most one ``call`` runs at a time per key
        among every caller sharing the cache; the others wait and get its answer. A failing call
        raises to its caller and to the callers of this process that shared it; nothing is stored.
        A sampled request under ``sampled: bypass`` (or with ``cache.llm.enabled: false``) calls
        the model and stores nothing.
        """

    @abstractmethod
    async def complete_async(self, request: ChatRequest, call: Callable[[], Any]) -> ChatResponse:
        """Async twin of :meth:`complete`: ``call()`` may return an awaitable of the response.

        Cancelling a waiting caller cancels only its wait; cancelling the calling one abandons the
        call (nothing stored) and a waiter makes its own.
        """

    @abstractmethod
    def stream(self, request: ChatRequest, call: Callable[[], Iterable[Any]]) -> Generator[Chunk, None, None]:
        """The chunks of the answer to ``request``: replayed if stored, else streamed from ``call()``.

        ``call()`` returns an iterable of chunks (mappings, or objects with ``model_dump()``). The
        first caller gets each chunk as it arrives; the whole list is stored only when the stream
        completed. A stream that fails, or that its caller stops reading (closing the iterator),
        is closed and stores nothing. Callers of the same request while it streams - in this
        process or another sharing the cache - wait for it to complete, then get its chunks
        replayed (one model call); if it stores nothing, one of them calls the model in its turn.
        A stored answer replays the same chunks, in order. The request is checked (and its key
        built) by this call, before iteration begins.
        """

    @abstractmethod
    def stream_async(
        self, request: ChatRequest, call: Callable[[], AsyncIterable[Any] | Awaitable[AsyncIterable[Any]]]
    ) -> AsyncGenerator[Chunk, None]:
        """Async twin of :meth:`stream`: ``async for chunk in cache.stream_async(request, call)``.

        ``call()`` returns an async iterable of chunks, or an awaitable of one (``await
        client.chat.completions.create(..., stream=True)``). Closing the iterator (``aclose()``, or
        leaving the ``async for`` by ``break`` once it is collected) or cancelling the task closes
        the model's stream and stores nothing.
        """

    @abstractmethod
    def invalidate(self, request: ChatRequest, *, stream: bool = False) -> bool:
        """Delete the stored answer to ``request``; ``True`` if there was one."""

    @abstractmethod
    async def invalidate_async(self, request: ChatRequest, *, stream: bool = False) -> bool:
        """Async twin of :meth:`invalidate`."""

    @abstractmethod
    def get_stats(self) -> dict[str, Any]:
        """What the cache did and saved in this process, exact under concurrent threads and tasks.

        ``requests``, ``hits`` (answered without a model call of their own: from the cache, or by
        sharing another caller's call in flight), ``misses`` (model calls made through the cache),
        ``bypassed`` (model calls that skipped it: sampled under ``bypass``, or disabled),
        ``hit_rate``, ``store_errors``; ``saved`` and ``spent``: ``model_calls``, ``prompt_tokens``,
        ``completion_tokens``, ``model_seconds`` and ``cost`` (from ``cache.llm.prices``, in
        ``currency``); the same per model under ``by_model``, and ``unpriced_models``. Saved time
        is the stored call's duration less what the hit itself took.
        """
