"""The LLM-response cache (``ILLMResponseCache``): keys, entries, streaming, savings, LangChain.

Import what you need from its modules - ``response_cache.LLMResponseCache``,
``langchain.LangChainCache`` (needs ``langchain-core``: ``pip install 'agent-cache[langchain]'``).
Nothing is imported here: the config package reads ``fields`` without pulling the cache in.
"""
