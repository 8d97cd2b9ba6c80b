"""LangChain's ``BaseCache`` over any :class:`ICacheProvider`: ``set_llm_cache(LangChainCache(cache))``.

Needs ``langchain-core`` (``pip install 'agent-cache[langchain]'``); this is the only module that
imports it, so the rest of agent-cache imports without it.

Keys are ``<namespace>:v1:<sha256>`` of the canonical encoding of ``(prompt, llm_string)``: the two
strings LangChain hands every cache, kept apart (no delimiter to collide on) and in full. What
they hold is LangChain's choice, with its known gaps: a chat model memoises its serialised
settings on the instance (``_serialized``, a ``cached_property``), so changing ``model`` or
``temperature`` on an existing instance keeps the old ``llm_string`` - make a new instance
(``model.model_copy(update=...)``) instead; and ``stream()`` does not read the cache. The
``ILLMResponseCache`` keys the request itself and caches streams.

Generations are stored as plain data, never pickled and never through ``langchain_core.load``
(which instantiates the classes a payload names): text generations as their text and
``generation_info``, chat generations as their message (``message_to_dict``: content, tool calls,
usage and response metadata, id) - so a message with tool calls reads back equal. A generation
the cache cannot hold (a value of a type msgpack does not carry) is not stored, with a warning:
the model's answer still reaches the caller. A stored value that is not ours is a miss.

``clear()`` clears the provider's whole namespace (``ICacheProvider.clear``), as LangChain expects
of a cache: give LangChain a named cache of its own (``resolver.get_named(ICacheProvider,
"langchain")``), not one that other services share.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from src.interfaces.llm.cache import CacheSerializationError, ICacheProvider
from src.interfaces.llm.cache_keys import digest

try:
    from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
    from langchain_core.messages import BaseMessageChunk, message_to_dict, messages_from_dict
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk
except ImportError as exc:  # pragma: no cover - exercised only where langchain-core is absent
    raise ImportError("LangChainCache needs langchain-core: pip install 'agent-cache[langchain]'") from exc

logger = logging.getLogger(__name__)

#: The layout of keys and stored records; bump it when either changes.
FORMAT = "v1"


class LangChainCache(BaseCache):
    """LangChain's LLM cache in ``provider``, entries kept ``ttl`` seconds (None: its default_ttl)."""

    def __init__(
        self, provider: ICacheProvider, *, ttl: float | None = None, namespace: str = "langchain"
    ) -> None:
        if not isinstance(provider, ICacheProvider):
            raise TypeError(f"LangChainCache takes an ICacheProvider, got {type(provider).__name__}")
        if not isinstance(namespace, str) or not namespace:
            raise ValueError(f"namespace must be a non-empty str, got {namespace!r:.60}")
        self.provider, self.ttl, self.namespace = provider, ttl, namespace

    def key(self, prompt: str, llm_string: str) -> str:
        """The cache key of one (prompt, llm_string) pair (no I/O)."""
        return f"{self.namespace}:{FORMAT}:{digest((prompt, llm_string))}"

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """The stored generations of ``prompt`` under ``llm_string``, or None on a miss."""
        key = self.key(prompt, llm_string)
        return _generations(key, self.provider.get(key))

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Store ``return_val`` (a list of generations) for ``prompt`` under ``llm_string``."""
        key = self.key(prompt, llm_string)
        try:
            self.provider.set(key, _records(return_val), self.ttl)
        except CacheSerializationError as exc:
            logger.warning("langchain cache: generations for %s not stored: %s", key, exc)

    def clear(self, **kwargs: Any) -> None:
        """Remove every entry of the provider's namespace (see the module docstring)."""
        self.provider.clear()

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Async twin of :meth:`lookup`."""
        key = self.key(prompt, llm_string)
        return _generations(key, await self.provider.get_async(key))

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Async twin of :meth:`update`."""
        key = self.key(prompt, llm_string)
        try:
            await self.provider.set_async(key, _records(return_val), self.ttl)
        except CacheSerializationError as exc:
            logger.warning("langchain cache: generations for %s not stored: %s", key, exc)

    async def aclear(self, **kwargs: Any) -> None:
        """Async twin of :meth:`clear`."""
        await self.provider.clear_async()


def _records(generations: Sequence[Generation]) -> dict[str, Any]:
    if isinstance(generations, str | bytes) or not isinstance(generations, Sequence):
        raise TypeError(f"return_val must be a list of Generation, got {type(generations).__name__}")
    return {"format": FORMAT, "generations": [_record(generation) for generation in generations]}


def _record(generation: Generation) -> dict[str, Any]:
    if isinstance(generation, ChatGeneration):  # ChatGenerationChunk included
        return {
            "kind": "chat",
            "chunk": isinstance(generation, ChatGenerationChunk),
            "message": message_to_dict(generation.message),
            "generation_info": generation.generation_info,
        }
    if isinstance(generation, Generation):
        return {
            "kind": "text",
            "chunk": isinstance(generation, GenerationChunk),
            "text": generation.text,
            "generation_info": generation.generation_info,
        }
    raise TypeError(f"return_val must hold Generation objects, got a {type(generation).__name__}")


def _generations(key: str, value: Any) -> list[Generation] | None:
    if value is None:
        return None
    try:
        if value["format"] != FORMAT:
            raise ValueError(f"format {value['format']!r}")
        return [_generation(record) for record in value["generations"]]
    except (KeyError, TypeError, ValueError) as exc:  # another program's value, or an older format
        logger.warning("langchain cache: %s holds no generations of this format (%s); a miss", key, exc)
        return None


def _generation(record: dict[str, Any]) -> Generation:
    info = record["generation_info"]
    if record["kind"] == "chat":
        message = messages_from_dict([record["message"]])[0]
        if record["chunk"] and isinstance(message, BaseMessageChunk):
            return ChatGenerationChunk(message=message, generation_info=info)
        return ChatGeneration(message=message, generation_info=info)
    if record["chunk"]:
        return GenerationChunk(text=record["text"], generation_info=info)
    return Generation(text=record["text"], generation_info=info)
