"""Keys of ``cached`` calls (``call_keys.py``, ``cached.py``), checked without a cache (``.key()``: no I/O).

The provider factory given here fails if called: building a key must never need the cache.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, assert_type

import pytest

from src.interfaces.llm.cache import ICacheProvider, cached
from src.interfaces.llm.cached import CachedCoroutineFunction, CachedFunction
from src.interfaces.llm.call_keys import MAX_PREFIX_LENGTH

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"^(?P<prefix>.+):v1:(?P<digest>[0-9a-f]{64})$")


def no_cache() -> ICacheProvider:
    raise AssertionError("building a key must not resolve the provider")


@cached(no_cache)
def ask(prompt: str, temperature: float = 0.0, *stops: str, **extra: Any) -> str:
    return prompt


class Agent:
    def __init__(self, name: str) -> None:
        self.name = name

    def __cache_key__(self) -> str:
        return self.name

    @cached(no_cache)
    def answer(self, prompt: str) -> str:
        return f"{self.name}: {prompt}"

    @cached(no_cache)
    async def answer_async(self, prompt: str) -> str:
        return prompt

    @cached(no_cache)
    @classmethod
    def build(cls, name: str) -> str:
        return name

    @staticmethod
    @cached(no_cache)
    def version(major: int) -> str:
        return str(major)


@dataclass(frozen=True)
class Model:
    name: str

    @cached(no_cache)
    def complete(self, prompt: str) -> str:
        return prompt


class Anonymous:
    @cached(no_cache)
    def answer(self, prompt: str) -> str:
        return prompt


def test_a_key_is_the_qualified_name_the_format_and_a_digest() -> None:
    key = ask.key("hello")
    match = KEY.match(key)
    assert match is not None
    assert match["prefix"] == "tests.unit.test_call_keys.ask"
    assert len(key) < 1024


def test_positional_keyword_and_default_arguments_make_one_key() -> None:
    assert ask.key("p") == ask.key(prompt="p") == ask.key("p", 0.0) == ask.key("p", temperature=0.0)
    assert ask.key("p") != ask.key("p", 0.5)


def test_extra_arguments_are_part_of_the_key_and_keyword_order_is_not() -> None:
    assert ask.key("p", 0.0, "a", "b") != ask.key("p", 0.0, "ab")
    assert ask.key("p", top_k=1, seed=2) == ask.key("p", seed=2, top_k=1)
    assert ask.key("p", top_k=1) != ask.key("p", top_k="1")


def test_a_wrong_call_fails_as_the_function_would() -> None:
    with pytest.raises(TypeError, match="prompt"):
        ask.key()  # type: ignore[call-arg]


def test_an_instance_is_part_of_a_method_key() -> None:
    assert Agent("a").answer.key("p") != Agent("b").answer.key("p")
    assert Agent("a").answer.key("p") == Agent("a").answer.key("p")  # equal identity, one entry
    assert Agent("a").answer.key("p") == Agent.answer.key(Agent("a"), "p")
    assert Model("m1").complete.key("p") != Model("m2").complete.key("p")


def test_an_instance_without_identity_is_a_type_error_naming_its_class() -> None:
    with pytest.raises(TypeError) as caught:
        Anonymous().answer.key("p")
    message = str(caught.value)
    assert "argument 'self'" in message
    assert "tests.unit.test_call_keys.Anonymous" in message
    assert "__cache_key__" in message
    assert "ignore=('self',)" in message
    assert "key=" in message


def test_ignore_self_shares_entries_between_instances_when_asked() -> None:
    class Shared:
        @cached(no_cache, ignore=("self",))
        def answer(self, prompt: str) -> str:
            return prompt

    assert Shared().answer.key("p") == Shared().answer.key("p")


def test_a_class_method_is_keyed_by_its_class() -> None:
    class Sub(Agent):
        pass

    # mypy sees the class method's function, cls included, not the view that binds cls.
    assert Agent.build.key("x") != Sub.build.key("x")  # type: ignore[call-arg, arg-type]
    assert Agent.build.key("x") == Agent("any").build.key("x")  # type: ignore[call-arg, arg-type]


def test_a_static_method_has_nothing_bound() -> None:
    # Through an instance, mypy binds the first parameter as if it were self: run time does not.
    assert Agent.version.key(1) == Agent("a").version.key(1) == Agent("b").version.key(1)  # type: ignore[call-arg]


def test_an_unsupported_argument_is_a_type_error_naming_the_parameter_and_the_fix() -> None:
    with pytest.raises(TypeError) as caught:
        ask.key("p", 0.0, client=object())
    message = str(caught.value)
    assert "argument 'extra'" in message
    assert "builtins.object at ['client']" in message
    assert "__cache_key__" in message
    assert "ignore=('extra',)" in message


def test_ignored_parameters_are_left_out() -> None:
    @cached(no_cache, ignore=["request_id"])
    def lookup(query: str, request_id: object = None) -> str:
        return query

    assert lookup.key("q", object()) == lookup.key("q", "r1") == lookup.key("q")


def test_a_key_function_chooses_the_key() -> None:
    @cached(no_cache, key=lambda agent, prompt: (agent["id"], prompt))
    def answer(agent: dict[str, Any], prompt: str) -> str:
        return prompt

    assert answer.key({"id": 1, "session": object()}, "p") == answer.key({"id": 1}, "p")
    assert answer.key({"id": 1}, "p") != answer.key({"id": 2}, "p")
    with pytest.raises(TypeError, match="the value returned by key="):
        answer.key({"id": object()}, "p")


def test_a_prefix_names_the_keys() -> None:
    @cached(no_cache, prefix="llm:summary")
    def summary(text: str) -> str:
        return text

    assert summary.key("t").startswith("llm:summary:v1:")


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: cached(no_cache)(lambda x: x), ValueError, "lambda.*prefix="),
        (lambda: cached(no_cache)(functools.partial(ask, "p")), ValueError, "prefix="),
        (lambda: cached(no_cache, prefix="")(ask), TypeError, "non-empty"),
        (lambda: cached(no_cache, prefix="p" * (MAX_PREFIX_LENGTH + 1))(ask), ValueError, "over"),
        (lambda: cached(no_cache, ignore=("promt",))(ask), ValueError, "promt.*'prompt'"),
        (lambda: cached(no_cache, key=len, ignore=("prompt",)), ValueError, "not both"),
        (lambda: cached(no_cache, key="prompt"), TypeError, "key="),  # type: ignore[arg-type]
        (lambda: cached(42), TypeError, "ICacheProvider"),  # type: ignore[arg-type]
        (lambda: cached(no_cache)(42), TypeError, "not @cached"),  # type: ignore[call-overload]
        (lambda: cached(no_cache)(staticmethod(len)), TypeError, "@staticmethod above"),
    ],
    ids=["lambda", "partial", "empty-prefix", "long-prefix", "ignore-typo", "key-and-ignore", "key-str",
         "provider", "bare-decorator", "under-staticmethod"],
)  # fmt: skip
def test_misuse_fails_at_decoration(make: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_the_longest_prefix_still_makes_a_valid_key() -> None:
    key = cached(no_cache, prefix="p" * MAX_PREFIX_LENGTH)(ask).key("x")
    assert len(key) == 1024


def test_metadata_and_types_are_kept() -> None:
    assert ask.__name__ == "ask"
    assert ask.__wrapped__.__name__ == "ask"
    assert ask.__doc__ == ask.__wrapped__.__doc__
    assert isinstance(ask, CachedFunction)
    assert isinstance(Agent.answer_async, CachedCoroutineFunction)
    assert isinstance(Agent("a").answer, CachedFunction)


async def _types_as_mypy_sees_them(agent: Agent) -> None:
    """Never run: mypy checks these (``assert_type``), so callers keep their types."""
    assert_type(ask("p", 0.5, "stop", seed=1), str)
    assert_type(ask.key("p"), str)
    assert_type(ask.invalidate("p"), bool)
    assert_type(ask.refresh("p"), str)
    assert_type(agent.answer("p"), str)  # self is bound: the view takes the prompt only
    assert_type(agent.answer.key("p"), str)
    assert_type(Agent.answer.key(agent, "p"), str)
    assert_type(await agent.answer_async("p"), str)
    assert_type(await agent.answer_async.refresh_async("p"), str)
    assert_type(await agent.answer_async.invalidate_async("p"), bool)
    assert_type(Agent.version(1), str)
    agent.answer(1)  # type: ignore[arg-type]
    ask.key(prompt=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("first", ["src.interfaces.llm.cached", "src.interfaces.llm.cache"])
def test_either_module_can_be_imported_first(first: str) -> None:
    code = f"import {first}\nfrom src.interfaces.llm.cache import cached\nprint(cached.__module__)"
    child = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "src.interfaces.llm.cached"
