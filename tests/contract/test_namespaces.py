"""Namespaces (issue 12): tenant -> agent -> session scopes of one cache, on every provider.

A namespace is a view of the same cache whose keys never meet the cache's or another namespace's;
``clear()`` of a namespace removes exactly its entries and its children's; ``get_size()`` counts
what ``get`` can return there. Each test runs on every provider, in both colours.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from src.interfaces.llm.cache import ICacheProvider
from tests.conftest import TestClock


def _sessions(cache: ICacheProvider) -> tuple[ICacheProvider, ICacheProvider, ICacheProvider]:
    tenant = cache.namespace("tenant:acme")
    agent = tenant.namespace("agent:7")
    return tenant, agent, agent.namespace("session:42")


def test_the_same_key_in_the_cache_and_in_namespaces_are_different_entries(
    cache_provider: ICacheProvider,
) -> None:
    tenant, agent, session = _sessions(cache_provider)
    other_tenant = cache_provider.namespace("tenant:globex")
    for place, value in (
        (cache_provider, "root"),
        (tenant, "tenant"),
        (agent, "agent"),
        (session, "session"),
    ):
        place.set("plan", value)
    assert other_tenant.get("plan") is None
    assert [place.get("plan") for place in (cache_provider, tenant, agent, session)] == [
        "root",
        "tenant",
        "agent",
        "session",
    ]
    assert session.get_many(["plan", "other"]) == {"plan": "session"}
    assert other_tenant.exists("plan") is False


def test_a_namespace_made_twice_is_the_same_scope(cache_provider: ICacheProvider) -> None:
    cache_provider.namespace("a").namespace("b").set("k", 1)
    assert cache_provider.namespace("a").namespace("b").get("k") == 1


def test_names_that_could_be_confused_are_distinct_scopes(cache_provider: ICacheProvider) -> None:
    """Nesting is structure, not string joining: a/b is not the name 'a/b', nor 'a' + 'b'."""
    places = [
        cache_provider.namespace("a").namespace("b"),
        cache_provider.namespace("a/b"),
        cache_provider.namespace("ab"),
        cache_provider.namespace("a:b"),
        cache_provider.namespace("{a}").namespace("b"),
        cache_provider.namespace("a"),
    ]
    for index, place in enumerate(places):
        place.set("k", index)
    assert [place.get("k") for place in places] == list(range(len(places)))
    cache_provider.set("b", "a root key named like a namespace")
    assert cache_provider.namespace("a").get("b") is None
    assert cache_provider.namespace("b").exists("k") is False


def test_clear_of_a_namespace_removes_it_and_its_children_and_nothing_else(
    cache_provider: ICacheProvider,
) -> None:
    tenant, agent, session = _sessions(cache_provider)
    sibling = tenant.namespace("agent:8")
    cache_provider.set("root", 1)
    tenant.set("t", 1)
    agent.set_many({"a1": 1, "a2": 2})
    session.set_many({f"s{i}": i for i in range(30)})
    sibling.set("b", 1)

    assert agent.clear() == 32  # its own 2 and its child session's 30
    assert agent.get_many(["a1", "a2"]) == {}
    assert session.get_size() == 0
    assert session.get("s1") is None
    assert tenant.get("t") == 1
    assert sibling.get("b") == 1
    assert cache_provider.get("root") == 1
    assert agent.clear() == 0
    agent.set("again", 1)  # usable after its clear
    assert agent.get("again") == 1


def test_clear_of_one_session_among_many_leaves_the_others(cache_provider: ICacheProvider) -> None:
    agent = cache_provider.namespace("tenant:acme").namespace("agent:7")
    sessions = [agent.namespace(f"session:{i}") for i in range(20)]
    for index, session in enumerate(sessions):
        session.set_many({"turn": index, "scratch": [index]})
    assert sessions[7].clear() == 2
    assert sessions[7].get_size() == 0
    assert [session.get("turn") for session in sessions] == [None if i == 7 else i for i in range(20)]


def test_clear_of_the_cache_removes_every_namespace_too(cache_provider: ICacheProvider) -> None:
    tenant, _, session = _sessions(cache_provider)
    cache_provider.set("root", 1)
    tenant.set("t", 1)
    session.set("s", 1)
    assert cache_provider.clear() == 3
    assert (tenant.get("t"), session.get("s"), cache_provider.get("root")) == (None, None, None)
    session.set("s", 2)  # usable after the clear
    assert session.get("s") == 2


def test_get_size_counts_what_get_can_return_there(cache_provider: ICacheProvider) -> None:
    tenant, agent, session = _sessions(cache_provider)
    cache_provider.set_many({"r1": 1, "r2": 2})
    agent.set_many({"a1": 1, "a2": 2, "a3": 3})
    session.set("s", 1)
    assert (cache_provider.get_size(), tenant.get_size(), agent.get_size(), session.get_size()) == (
        2,
        0,
        3,
        1,
    )
    agent.delete("a1")
    assert agent.get_size() == 2
    assert agent.delete_many(["a2", "a3", "absent"]) == 2
    assert agent.get_size() == 0
    assert session.get_size() == 1


def test_ttls_inside_namespaces(cache_provider: ICacheProvider, clock: TestClock) -> None:
    session = cache_provider.namespace("tenant:acme").namespace("session:1")
    session.set("short", 1, ttl=0.3)
    session.set("long", 2, ttl=30)
    session.set_many({"batch": 3}, ttl=0.3)
    session.set("forever", 4, ttl=0)
    clock.advance(0.45)
    assert session.get_many(["short", "long", "batch", "forever"]) == {"long": 2, "forever": 4}
    assert session.get_size() == 2
    assert session.clear() == 2


def test_compute_once_in_a_namespace(cache_provider: ICacheProvider) -> None:
    session = cache_provider.namespace("tenant:acme").namespace("session:9")
    calls: list[int] = []
    lock = threading.Lock()

    def model() -> str:
        with lock:
            calls.append(1)
        time.sleep(0.2)
        return "answer"

    def agent() -> None:
        assert (
            cache_provider.namespace("tenant:acme").namespace("session:9").get_or_set("q", model) == "answer"
        )

    threads = [threading.Thread(target=agent) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1  # one flight although every agent made its own view
    assert session.get("q") == "answer"
    assert cache_provider.get("q") is None
    assert session.clear() == 1
    assert session.get_or_set("q", lambda: "recomputed") == "recomputed"


def test_a_namespace_is_cheap_and_closing_it_releases_nothing(cache_provider: ICacheProvider) -> None:
    cache_provider.set("root", 1)
    for index in range(50):
        view = cache_provider.namespace(f"request:{index}")
        view.set("k", index)
        view.close()
    assert cache_provider.get("root") == 1
    assert cache_provider.namespace("request:3").get("k") == 3


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", ValueError),
        ("x" * 201, ValueError),
        ("lone \ud800 surrogate", ValueError),
        (7, TypeError),
        (None, TypeError),
    ],
    ids=["empty", "too-long", "surrogate", "int", "none"],
)
def test_bad_names_are_refused_clearly(cache_provider: ICacheProvider, name: Any, error: type) -> None:
    with pytest.raises(error, match="namespace name"):
        cache_provider.namespace(name)


def test_namespaces_nest_at_most_sixteen_deep(cache_provider: ICacheProvider) -> None:
    place = cache_provider
    for depth in range(16):
        place = place.namespace(f"level{depth}")
    place.set("deep", 1)
    assert place.get("deep") == 1
    with pytest.raises(ValueError, match="at most 16 deep"):
        place.namespace("one-too-many")
    assert cache_provider.namespace("level0").clear() == 1
