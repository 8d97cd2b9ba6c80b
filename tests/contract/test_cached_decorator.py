"""The ``cached`` decorator on every provider: one test per key pitfall of the peer libraries.

Each pitfall test asserts what a peer gets wrong: dogpile's default keys join the arguments with
spaces, treat ``1`` and ``"1"`` alike and skip ``self``; cashews maps ``None`` and ``""`` alike;
aiocache never caches a ``None`` result. The same keys at the encoding level, and the keys' stability
across processes, are in ``tests/unit/test_cache_keys.py`` and ``tests/unit/test_call_keys.py``.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from src.interfaces.llm.cache import ICacheProvider, cached


class Calls:
    """Counts the calls of a stand-in model, per argument tuple (thread-safe)."""

    def __init__(self) -> None:
        self.made: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> int:
        with self._lock:
            self.made.append(args)
            return len(self.made)


def test_arguments_that_join_alike_with_spaces_do_not_share_an_entry(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @cached(cache_provider)
    def answer(a: str, b: str) -> str:
        calls(a, b)
        return f"{a}|{b}"

    assert answer("x y", "z") == "x y|z"
    assert answer("x", "y z") == "x|y z"  # dogpile: "x y z" for both, so "x y|z" again
    assert calls.made == [("x y", "z"), ("x", "y z")]


def test_an_int_and_its_string_do_not_share_an_entry(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @cached(cache_provider)
    def describe(value: Any) -> str:
        calls(value)
        return type(value).__name__

    assert describe(1) == "int"
    assert describe("1") == "str"  # dogpile: str(1) == "1", so "int" again
    assert describe(True) == "bool"
    assert describe(1) == "int"  # a hit
    assert len(calls.made) == 3


def test_none_and_the_empty_string_do_not_share_an_entry(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @cached(cache_provider)
    def describe(value: str | None) -> str:
        calls(value)
        return repr(value)

    assert describe(None) == "None"
    assert describe("") == "''"  # cashews: the same key, so "None" again
    assert calls.made == [(None,), ("",)]


def test_a_none_result_is_cached(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @cached(cache_provider)
    def lookup(name: str) -> None:
        calls(name)

    assert lookup("absent") is None
    assert lookup("absent") is None  # aiocache: None is a miss, so the model is called again
    assert calls.made == [("absent",)]
    assert cache_provider.exists(lookup.key("absent"))


class Agent:
    """An instance with a stable identity: its name, the same in every process."""

    def __init__(self, name: str, calls: Calls) -> None:
        self.name = name
        self.calls = calls

    def __cache_key__(self) -> str:
        return self.name

    def answer(self, prompt: str) -> str:
        self.calls(self.name, prompt)
        return f"{self.name} answers {prompt}"


def test_two_instances_do_not_share_an_entry(cache_provider: ICacheProvider) -> None:
    class CachedAgent(Agent):
        @cached(cache_provider)
        def answer(self, prompt: str) -> str:
            return super().answer(prompt)

    calls = Calls()
    alice, bob = CachedAgent("alice", calls), CachedAgent("bob", calls)
    assert alice.answer("hi") == "alice answers hi"
    assert bob.answer("hi") == "bob answers hi"  # dogpile skips self: "alice answers hi" again
    assert CachedAgent("alice", calls).answer("hi") == "alice answers hi"  # same identity: a hit
    assert calls.made == [("alice", "hi"), ("bob", "hi")]


def test_dataclass_instances_are_keyed_by_their_fields(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @dataclass(frozen=True)
    class Model:
        name: str
        temperature: float

        @cached(cache_provider)
        def complete(self, prompt: str) -> str:
            calls(self.name, self.temperature, prompt)
            return f"{self.name}@{self.temperature}: {prompt}"

    assert Model("m", 0.0).complete("p") == "m@0.0: p"
    assert Model("m", 0.5).complete("p") == "m@0.5: p"
    assert Model("m", 0.0).complete("p") == "m@0.0: p"
    assert len(calls.made) == 2


def test_an_instance_without_identity_is_a_type_error_before_running(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    class Anonymous:
        @cached(cache_provider)
        def answer(self, prompt: str) -> str:
            calls(prompt)
            return prompt

    with pytest.raises(
        TypeError, match=r"argument 'self'.*test_cached_decorator\.\S*Anonymous.*__cache_key__"
    ):
        Anonymous().answer("hi")
    assert calls.made == []
    assert cache_provider.get_size() == 0


def test_an_unsupported_argument_is_a_type_error_and_nothing_runs(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @cached(cache_provider)
    def summarise(text: str, options: dict[str, Any]) -> str:
        calls(text)
        return text

    with pytest.raises(TypeError) as caught:
        summarise("t", {"client": threading.Lock()})
    assert "argument 'options'" in str(caught.value)
    assert "_thread.lock at ['client']" in str(caught.value)
    assert calls.made == []
    assert cache_provider.get_size() == 0


def test_positional_keyword_and_default_arguments_share_an_entry(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @cached(cache_provider)
    def ask(prompt: str, temperature: float = 0.0) -> int:
        return calls(prompt, temperature)

    assert ask("p") == ask(prompt="p") == ask("p", 0.0) == ask(temperature=0.0, prompt="p") == 1
    assert ask("p", 0.7) == 2
    assert len(calls.made) == 2


def test_key_invalidate_and_refresh(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @cached(cache_provider, prefix="llm:count")
    def count(word: str) -> int:
        return calls(word)

    key = count.key("w")
    assert key.startswith("llm:count:v1:")
    assert count("w") == 1
    assert cache_provider.get(key) == 1  # the entry is where key() says
    assert count.invalidate("w") is True
    assert count.invalidate("w") is False
    assert count("w") == 2  # recomputed after invalidate
    assert count.refresh("w") == 3  # recomputed although cached
    assert count("w") == 3
    assert cache_provider.get(key) == 3


def test_ignored_parameters_do_not_split_entries(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @cached(cache_provider, ignore=("request_id",))
    def answer(prompt: str, request_id: str) -> int:
        return calls(prompt, request_id)

    assert answer("p", "r1") == answer("p", "r2") == 1
    assert calls.made == [("p", "r1")]


def test_the_ttl_applies_to_cached_results(cache_provider: ICacheProvider, clock: Any) -> None:
    calls = Calls()

    @cached(cache_provider, ttl=0.3)
    def tick(name: str) -> int:
        return calls(name)

    assert tick("t") == tick("t") == 1
    clock.advance(0.45)
    assert tick("t") == 2


def test_a_lazy_provider_is_resolved_once_at_the_first_call(cache_provider: ICacheProvider) -> None:
    resolved: list[ICacheProvider] = []
    calls = Calls()

    def container_cache() -> ICacheProvider:  # as a module-level function would ask the container
        resolved.append(cache_provider)
        return cache_provider

    @cached(container_cache)
    def answer(prompt: str) -> int:
        return calls(prompt)

    assert resolved == []  # decorating does not resolve it
    start = threading.Barrier(16)

    def agent() -> None:
        start.wait()
        answer("p")

    threads = [threading.Thread(target=agent) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(resolved) == 1
    assert calls.made == [("p",)]  # and the 16 threads computed once, through get_or_set


def test_a_failing_provider_factory_is_tried_again(cache_provider: ICacheProvider) -> None:
    attempts: list[int] = []

    def flaky() -> ICacheProvider:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("container not built yet")
        return cache_provider

    @cached(flaky)
    def answer(prompt: str) -> str:
        return prompt

    with pytest.raises(RuntimeError, match="not built yet"):
        answer("p")
    assert answer("p") == "p"
    assert answer("p") == "p"
    assert len(attempts) == 2


# ---------------------------------------------------------------- async functions


@pytest.mark.mixed_colours
async def test_async_functions_avoid_every_pitfall(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @cached(cache_provider)
    async def answer(a: Any, b: Any = "") -> str | None:
        calls(a, b)
        await asyncio.sleep(0)
        return None if a == "none" else f"{a!r}|{b!r}"

    assert await answer("x y", "z") == "'x y'|'z'"
    assert await answer("x", "y z") == "'x'|'y z'"
    assert await answer(1) == "1|''"
    assert await answer("1") == "'1'|''"
    assert await answer(None) == "None|''"
    assert await answer("") == "''|''"
    assert await answer("none") is None
    assert await answer("none") is None
    assert await answer(a=1, b="") == "1|''"
    assert len(calls.made) == 7


@pytest.mark.mixed_colours
async def test_async_methods_of_two_instances_do_not_share_an_entry(cache_provider: ICacheProvider) -> None:
    class AsyncAgent(Agent):
        @cached(cache_provider)
        async def answer_async(self, prompt: str) -> str:
            return self.answer(prompt)

    calls = Calls()
    results = await asyncio.gather(
        *(AsyncAgent(name, calls).answer_async("hi") for name in ["alice", "bob"] * 8)
    )
    assert results == ["alice answers hi", "bob answers hi"] * 8
    assert sorted(calls.made) == [("alice", "hi"), ("bob", "hi")]  # once each, 16 callers


@pytest.mark.mixed_colours
async def test_async_key_invalidate_and_refresh(cache_provider: ICacheProvider) -> None:
    calls = Calls()

    @cached(cache_provider)
    async def count(word: str) -> int:
        return calls(word)

    assert await count("w") == 1
    assert await cache_provider.get_async(count.key("w")) == 1
    assert await count.invalidate_async("w") is True
    assert await count.invalidate_async("w") is False
    assert await count("w") == 2
    assert await count.refresh_async("w") == 3
    assert await count("w") == 3
    assert count.invalidate("w") is True  # the sync twin, from async code, on purpose
    assert await count("w") == 4


@pytest.mark.mixed_colours
async def test_an_async_call_with_an_unsupported_argument_raises_before_running(
    cache_provider: ICacheProvider,
) -> None:
    calls = Calls()

    @cached(cache_provider)
    async def summarise(text: Any) -> str:
        calls(text)
        return "s"

    with pytest.raises(TypeError, match=r"argument 'text'.*builtins\.object"):
        await summarise(object())
    assert calls.made == []
