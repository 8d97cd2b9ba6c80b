"""Each async twin under ``src/`` reads like its sync original, or says on ``DIFFERENCES`` why not.

How pairs are found and compared, and the one difference accepted by rule (a twin that only
delegates to its original), is in ``tests/twin_parity.py``. Every other difference is an entry
below with the reason it is intended; the gate fails for a differing pair not listed, and for an
entry (or a ``PER_LOOP`` stand-in) that no longer applies, so the lists cannot rot.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.twin_parity import Pair, difference, pairs, pairs_in, problems

SRC = Path(__file__).resolve().parents[2] / "src"

_REDIS = "src.infrastructure.cache.providers.redis"

#: "module:Class.method" of an async twin -> why it differs from its sync original on purpose.
DIFFERENCES: dict[str, str] = {
    f"{_REDIS}.redis_provider:RedisCacheProvider.get_async": (
        "concurrent get_async calls of one loop share one MGET (coalescing.py); a sync call sends its own GET"
    ),
    f"{_REDIS}.redis_provider:RedisCacheProvider.set_async": (
        "concurrent set_async calls of one loop share one script call (coalescing.py); a sync call "
        "sends its own SET"
    ),
    f"{_REDIS}.connections:RedisConnections.aclose": (
        "aclose can await, so it first closes the running loop's transport on that loop "
        "(aclose_current), then does what close() does; close cannot await that loop's transport"
    ),
    f"{_REDIS}.cluster_client:AsyncClusterTransport._call": (
        "asyncio.Semaphore.acquire takes no timeout, so asyncio.timeout bounds the wait; and "
        "redis.asyncio's cluster client, built at once, discovers the cluster lazily in a way that "
        "races under concurrent first commands, so discovery is awaited first (initialize), where "
        "the sync client is built, discovery included, on first use (cluster())"
    ),
    f"{_REDIS}.cluster_client:AsyncClusterTransport.close_connections": (
        "the sync RedisCluster keeps each node's connections in a redis-py pool (close_node_pools); "
        "redis.asyncio's ClusterNode keeps them itself, in two lists (aclose_cluster_nodes); and "
        "the sync client may not exist yet (node_pools is empty then), the async one always does"
    ),
}

_POOLS = f"{_REDIS}.pools"
DIFFERENCES.update(
    {
        f"{_POOLS}:AsyncBlockingPool.close_connections": (
            "redis-py's sync blocking pool keeps idle connections in a queue shared by threads, so "
            "they are taken out of it under a lock; the asyncio pool is one loop's, keeps idle and "
            "in-use connections in two lists, and needs no lock (_disconnect_idle moves them)"
        ),
        f"{_POOLS}:AsyncBlockingPool.release": (
            "the sync pool is shared by threads, so the retiring set is read and changed under a "
            "lock; the asyncio pool's release runs on its one loop and needs none. And it skips "
            "redis.asyncio's condition unless a task waits for a connection (the quick checkout of "
            "an idle connection, see AsyncBlockingPool); redis-py's sync pool has no such cost"
        ),
        f"{_POOLS}:AsyncBlockingSentinelPool.close_connections": (
            "a sync sentinel's plain ConnectionPool disconnects idle connections under its own lock; "
            "redis.asyncio's awaits each disconnect with the connection still in the pool, so the "
            "async twin takes them out first (_disconnect_idle)"
        ),
    }
)

DIFFERENCES["src.infrastructure.cache.base:CacheProviderBase.get_or_set_async"] = (
    "a provider whose reads never wait (reads_inline: memory) is read with its sync get, which saves "
    "a coroutine per hit; the sync twin has only get"
)

_COMPUTE = "src.infrastructure.cache.compute"
DIFFERENCES.update(
    {
        f"{_COMPUTE}.misses:Misses.compute_async": (
            "get_or_set_async's compute may return an awaitable, which it awaits; get_or_set's "
            "compute must not, and the sync twin refuses one with a TypeError pointing to the async form"
        ),
        f"{_COMPUTE}.flights:Flight.wait_async": (
            "a thread blocks on the flight's threading.Event; a task must not block its loop, so it "
            "waits on a future of its own loop that finish() resolves with call_soon_threadsafe"
        ),
    }
)

_LLM = "src.infrastructure.cache.llm.streaming"
DIFFERENCES.update(
    {
        f"{_LLM}:relay_async": (
            "a sync caller runs get_or_set in a thread beside it and abandons the stream by setting "
            "a flag the thread reads at the next chunk; an async caller runs it in a task of its own "
            "loop, which it cancels to abandon the stream at once"
        ),
        f"{_LLM}:iterator_of_async": (
            "an async model call may return an awaitable of its stream (the OpenAI SDK's AsyncStream), "
            "which is awaited; the sync twin refuses an awaitable, pointing to stream_async"
        ),
        f"{_LLM}:resolved_async": (
            "an async model call's result may be an awaitable, which is awaited; the sync twin refuses "
            "one with a TypeError pointing to complete_async"
        ),
        f"{_LLM}:close_async": "an async iterator closes with aclose(), a sync one with close()",
    }
)

#: Stand-ins of the async colour: ``name = await <stand-in>`` in an async twin, then ``name``,
#: reads as the sync twin's expression. -> (that expression, why the twin reads something else).
PER_LOOP: dict[str, tuple[str, str]] = {
    "self._loops.current()": (
        "self._transport",
        "a redis.asyncio client belongs to one event loop: the async twin uses the running loop's "
        "transport (loop_transports.py) where the sync twin uses its one thread-safe transport",
    ),
    "self._async_transport()": (
        "self._transport",
        "the leases' async twins use the running loop's transport (the provider's loop_transports), "
        "the sync ones the provider's one thread-safe transport",
    ),
}
STAND_INS = {stand_in: expression for stand_in, (expression, _) in PER_LOOP.items()}


# ---------------------------------------------------------------- the gate


def test_twins_match_or_are_listed_with_a_reason() -> None:
    used: set[str] = set()
    found = {pair.name: difference(pair, STAND_INS, used) for pair in pairs(SRC)}
    wrong = problems(found, used, DIFFERENCES, STAND_INS)
    assert not wrong, "\n\n".join(wrong) + (
        "\n\nMake each twin match its original, or list it in DIFFERENCES with the reason it differs."
    )


def test_every_twin_of_the_contract_is_checked() -> None:
    """The pairing finds the contract's twins on every provider (a renamed file would not hide them)."""
    names = {pair.name for pair in pairs(SRC)}
    for provider in (
        "providers.memory.memory_provider:MemoryCacheProvider",
        "providers.redis.redis_provider:RedisCacheProvider",
        "resilience.resilient_provider:ResilientCacheProvider",
        "wrappers.forwarding:ForwardingCacheProvider",
    ):
        for twin in ("get_async", "set_many_async", "clear_async", "aclose"):
            assert f"src.infrastructure.cache.{provider}.{twin}" in names


# ---------------------------------------------------------------- the checker itself


def _only_pair(source: str) -> Pair:
    [pair] = pairs_in("m", textwrap.dedent(source))
    return pair


def test_mechanical_differences_are_absorbed() -> None:
    pair = _only_pair(
        """
        class C:
            def read(self, key: str) -> int:
                with self._lock:
                    for page in self._pages(key):
                        yield from cast(list[int], page)
                return self.x.close(ClusterClient)

            async def read_async(self, key: str) -> int:
                \"\"\"Async twin of read.\"\"\"
                async with self._lock:
                    async for page in self._pages_async(key):
                        async for item in page:
                            yield item
                return await self.x.aclose(AsyncClusterClient)
        """
    )
    assert difference(pair, STAND_INS, set()) is None


def test_a_per_loop_stand_in_reads_as_what_it_stands_for() -> None:
    pair = _only_pair(
        """
        class C:
            def size(self) -> int:
                return self._transport.dbsize()

            async def size_async(self) -> int:
                transport = await self._loops.current()
                return await transport.dbsize()
        """
    )
    used: set[str] = set()
    assert difference(pair, STAND_INS, used) is None
    assert used == {"self._loops.current()"}


def test_a_twin_that_drifts_is_reported_with_a_diff() -> None:
    pair = _only_pair(
        """
        class C:
            def get(self, key):
                check_key(key)
                return self._client.get(key)

            async def get_async(self, key):
                return await self._client.get(key)
        """
    )
    assert difference(pair, STAND_INS, set()) == (
        "--- sync\n+++ async, normalised\n@@ -1,3 +1,2 @@\n def get(self, key):\n"
        "-    check_key(key)\n     return self._client.get(key)"
    )


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ("return self.set(key, value, ttl)", True),
        ("self.set(key, value, ttl)", True),
        ("return await asyncio.to_thread(self.set, key, value, ttl)", True),
        ("return self.set(key, value)", False),  # drops the ttl
        ("return self.set(key, ttl, value)", False),  # swaps two
        ("return self.set(key, value, ttl=ttl)", False),  # any keyword: compared, not assumed
        ("return await self.set_async(key, value, ttl)", False),  # calls itself
        ("return self.get(key, value, ttl)", False),  # not its sync twin
    ],
)
def test_only_an_exact_delegation_to_the_sync_twin_is_accepted(body: str, accepted: bool) -> None:
    pair = _only_pair(
        f"""
        class C:
            def set(self, key, value, ttl=None):
                self._client.set(key, value, ttl)

            async def set_async(self, key, value, ttl=None):
                {body}
        """
    )
    assert (difference(pair, STAND_INS, set()) is None) is accepted


def test_twin_classes_pair_their_async_methods() -> None:
    found = {
        pair.name: difference(pair, STAND_INS, set())
        for pair in pairs_in(
            "m",
            textwrap.dedent(
                """
                class Writer:
                    def write(self, items):
                        self._client.send(items)

                class AsyncWriter:
                    def helper(self):  # sync in both: not a twin pair
                        pass

                    async def write(self, items):
                        await self._client.send(list(items))
                """
            ),
        )
    }
    assert list(found) == ["m:AsyncWriter.write"]
    assert found["m:AsyncWriter.write"] is not None


def test_stale_entries_and_unlisted_differences_are_problems() -> None:
    [listed, *_] = DIFFERENCES
    [stand_in, *_] = PER_LOOP
    wrong = problems({listed: None, "m:C.x_async": "a diff"}, set(), DIFFERENCES, STAND_INS)
    assert wrong[0].startswith("m:C.x_async: differs")
    assert any(line.startswith(f"{listed}: listed in DIFFERENCES, but now matches") for line in wrong)
    assert any(line.startswith(f"PER_LOOP[{stand_in!r}]: no async twin binds it") for line in wrong)
