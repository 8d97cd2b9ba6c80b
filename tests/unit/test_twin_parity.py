"""Each async twin under ``src/`` reads like its sync original, or says on ``DIFFERENCES`` why not.

The gate of httpcore's ``unasync --check`` and psycopg's ``async_to_sync --check``, without the
generator: both colours live side by side, so this test pairs them and compares their syntax trees.

Pairs, found by parsing every module under ``src/`` (nothing is imported):

* in one class (or at module level), ``x`` and ``x_async``, ``_x`` and ``_x_async``, ``close`` and
  ``aclose``;
* twin classes of one module, ``X`` and ``AsyncX``: each ``async def`` of ``AsyncX`` and the method
  of ``X`` it mirrors (same name, or ``__aenter__``/``__enter__``, ``aclose``/``close``, ...).

The async body is normalised (:class:`_Unasync`): ``await`` dropped; ``async def``/``async with``/
``async for`` as their sync forms; names and attributes ending in ``_async`` without it, ``AsyncX``
as ``X``, and the other async spellings in ``_SYNC_SPELLING`` as their sync ones;
``asyncio.to_thread(f, *a)`` as ``f(*a)``; ``async for x in it: yield x`` as ``yield from it``
(which an async generator cannot write); a local bound to one of the ``PER_LOOP`` stand-ins as what
it stands in for. Docstrings, annotations and ``cast(T, x)`` are left out of both sides (types are
mypy's job). What remains must be identical.

One difference is accepted by rule, because it cannot drift: an async twin that only delegates to
its sync twin, passing its own parameters through in order (``return self.get(key, default)``,
``return await asyncio.to_thread(self.clear)``).

Every other difference is a listed entry of ``DIFFERENCES``, with the reason it is intended. The
test fails for a differing pair that is not listed, and for an entry whose pair no longer differs
or no longer exists; likewise for a ``PER_LOOP`` stand-in that no twin uses: the lists cannot rot.
"""

from __future__ import annotations

import ast
import difflib
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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
    f"{_REDIS}.redis_provider:RedisCacheProvider.set_many_async": (
        "the batch goes through the loop's coalescer, whose writer is the loop's client's "
        "(AsyncBatchWriter); the sync twin has one BatchWriter on its one client"
    ),
    f"{_REDIS}.redis_provider:RedisCacheProvider.aclose": (
        "aclose can await, so it closes the running loop's client on that loop (aclose_current); "
        "close cannot, and releases what needs no awaiting (LoopClients.release). "
        "REAL ASYMMETRY, to fix: aclose leaves open the clients of loops running in other threads, "
        "which close() closes, so it does not release every resource as ICacheProvider.aclose "
        "promises; it should also call self._loop_clients.release()"
    ),
    f"{_REDIS}.cluster_client:AsyncClusterClient._call": (
        "asyncio.Semaphore.acquire takes no timeout, so asyncio.timeout bounds the wait; and "
        "redis.asyncio's cluster client, built at once, discovers the cluster lazily in a way that "
        "races under concurrent first commands, so discovery is awaited first (initialize), where "
        "the sync client is built, discovery included, on first use (cluster())"
    ),
    f"{_REDIS}.cluster_client:AsyncClusterClient.aclose": (
        "the sync RedisCluster may not exist yet (built on first use, as it dials in its "
        "constructor); the async one always does (built at once, it dials on its first command)"
    ),
    f"{_REDIS}.keyspace:KeySpace.remove_all_async": (
        "NOT INTENDED (same behaviour, worded differently), to fix: the sync twin sums a generator, "
        "which an async one cannot feed to sum(); write both as the same loop"
    ),
}

#: Stand-ins of the async colour: ``name = await <stand-in>`` in an async twin, then ``name``,
#: reads as the sync twin's expression. -> (that expression, why the twin reads something else).
PER_LOOP: dict[str, tuple[str, str]] = {
    "self._loop_clients.current()": (
        "self._client",
        "a redis.asyncio client belongs to one event loop: the async twin uses the running loop's "
        "client (loop_clients.py) where the sync twin uses its one thread-safe client",
    ),
}

#: Async spellings and their sync counterparts, beyond the ``_async`` suffix.
_SYNC_SPELLING = {
    "aclose": "close",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "anext": "next",
    "asynccontextmanager": "contextmanager",
}

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Pair:
    """An async twin and its sync original; ``name`` is the twin's ``module:Class.method``."""

    name: str
    sync: Function
    twin: Function


def sync_name(name: str) -> str:
    """The sync spelling of a name of the async colour (itself if it has none)."""
    if name in _SYNC_SPELLING:
        return _SYNC_SPELLING[name]
    if name.startswith("Async") and name[5:6].isupper():  # the twin class AsyncX of X
        return name.removeprefix("Async")
    return name.removesuffix("_async")


# ---------------------------------------------------------------- finding the pairs


def pairs() -> Iterator[Pair]:
    """Every twin pair under ``src/``."""
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        yield from pairs_in(module, path.read_text(encoding="utf-8"))


def pairs_in(module: str, source: str) -> Iterator[Pair]:
    """The twin pairs of one module's source."""
    tree = ast.parse(source)
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    yield from _named_twins(f"{module}:", _functions(tree.body))
    for name, cls in classes.items():
        methods = _functions(cls.body)
        yield from _named_twins(f"{module}:{name}.", methods)
        original = classes.get(sync_name(name)) if sync_name(name) != name else None
        if original is not None:
            yield from _twin_class_methods(f"{module}:{name}.", _functions(original.body), methods)


def _functions(body: list[ast.stmt]) -> dict[str, Function]:
    return {node.name: node for node in body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def _named_twins(scope: str, functions: dict[str, Function]) -> Iterator[Pair]:
    """``x``/``x_async`` (and ``close``/``aclose``) among the functions of one scope."""
    for name, twin in functions.items():
        original = sync_name(name)
        if original != name and original in functions:
            yield Pair(scope + name, functions[original], twin)


def _twin_class_methods(
    scope: str, sync_methods: dict[str, Function], methods: dict[str, Function]
) -> Iterator[Pair]:
    """Each ``async def`` of the class ``AsyncX`` and the method of ``X`` it mirrors."""
    for name, twin in methods.items():
        original = sync_methods.get(sync_name(name))
        if isinstance(twin, ast.AsyncFunctionDef) and original is not None:
            yield Pair(scope + name, original, twin)


# ---------------------------------------------------------------- normalising


class _Unasync(ast.NodeTransformer):
    """Rewrites an async body into the sync body it should equal; records the stand-ins it used."""

    def __init__(self, used: set[str]) -> None:
        self._used = used
        self._stand_ins: dict[str, str] = {}  # local name -> the sync expression it stands for

    def visit_Assign(self, node: ast.Assign) -> ast.AST | None:
        """``client = await self._loop_clients.current()`` is dropped; ``client`` becomes a stand-in."""
        target, value = node.targets[0], node.value
        if len(node.targets) == 1 and isinstance(target, ast.Name) and isinstance(value, ast.Await):
            stand_in = ast.unparse(value.value)
            if stand_in in PER_LOOP:
                self._used.add(stand_in)
                self._stand_ins[target.id] = PER_LOOP[stand_in][0]
                return None
        return self.generic_visit(node)

    def visit_Await(self, node: ast.Await) -> ast.AST:
        return _visited(self, node.value)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        self.generic_visit(node)
        fields = {field: getattr(node, field) for field in node._fields}
        return ast.FunctionDef(**{**fields, "name": sync_name(node.name)})

    def visit_AsyncWith(self, node: ast.AsyncWith) -> ast.AST:
        self.generic_visit(node)
        return ast.With(items=node.items, body=node.body, type_comment=node.type_comment)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> ast.AST:
        self.generic_visit(node)
        if _yields_each(node):  # async for x in it: yield x  ->  yield from it
            return ast.Expr(value=ast.YieldFrom(value=node.iter))
        return ast.For(
            target=node.target, iter=node.iter, body=node.body, orelse=node.orelse, type_comment=None
        )

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self._stand_ins:
            return ast.parse(self._stand_ins[node.id], mode="eval").body
        return ast.Name(id=sync_name(node.id), ctx=node.ctx)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        return ast.Attribute(value=node.value, attr=sync_name(node.attr), ctx=node.ctx)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if ast.unparse(node.func) == "asyncio.to_thread" and node.args:
            return ast.Call(func=node.args[0], args=node.args[1:], keywords=node.keywords)
        return node


class _Bare(ast.NodeTransformer):
    """Drops what both colours may word differently without a difference in behaviour."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._bare(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._bare(node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.annotation = None
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if ast.unparse(node.func) == "cast" and len(node.args) == 2:
            return node.args[1]
        return node

    def _bare(self, node: Function) -> Function:
        self.generic_visit(node)
        node.returns = None
        if node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:] or [ast.Pass()]
        return node


def _visited(transformer: ast.NodeTransformer, node: ast.AST) -> ast.AST:
    result: ast.AST = transformer.visit(node)
    return result


def _yields_each(loop: ast.AsyncFor) -> bool:
    """True for ``async for x in it: yield x`` (no ``else``)."""
    if loop.orelse or len(loop.body) != 1 or not isinstance(loop.body[0], ast.Expr):
        return False
    value = loop.body[0].value
    return isinstance(value, ast.Yield) and value.value is not None and _same(value.value, loop.target)


def _same(one: ast.AST, other: ast.AST) -> bool:
    return ast.unparse(one) == ast.unparse(other)


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def normalised(function: Function, used: set[str] | None = None) -> ast.FunctionDef:
    """``function`` without what may differ; with ``used`` (the stand-ins seen), as its sync twin."""
    tree: ast.AST = ast.parse(ast.unparse(function)).body[0]  # a copy: the transformers edit in place
    if used is not None:
        tree = _visited(_Unasync(used), tree)
    tree = _visited(_Bare(), tree)
    assert isinstance(tree, ast.FunctionDef)
    tree.name = sync_name(tree.name)
    return ast.fix_missing_locations(tree)


# ---------------------------------------------------------------- comparing


def delegates(twin: Function, original: str) -> bool:
    """True if ``twin`` only calls ``self.<original>`` with its own parameters, in order:
    ``return self.x(a, b)``, ``self.x(a, b)``, ``return await asyncio.to_thread(self.x, a, b)``."""
    body = [statement for statement in twin.body if not _is_docstring(statement)]
    if len(body) != 1 or not isinstance(body[0], ast.Return | ast.Expr):
        return False
    call = body[0].value
    if isinstance(call, ast.Await):
        call = call.value
    if not isinstance(call, ast.Call) or call.keywords:
        return False
    arguments = [ast.unparse(argument) for argument in call.args]
    if ast.unparse(call.func) == "asyncio.to_thread":
        arguments = [f"{arguments[0]}(...)", *arguments[1:]] if arguments else []
    else:
        arguments = [f"{ast.unparse(call.func)}(...)", *arguments]
    parameters = [arg.arg for arg in [*twin.args.posonlyargs, *twin.args.args][1:]]
    return not twin.args.kwonlyargs and arguments == [f"self.{original}(...)", *parameters]


def difference(pair: Pair, used: set[str]) -> str | None:
    """A diff of the normalised pair, or None if they match (or the twin only delegates)."""
    sync = normalised(pair.sync)
    twin = normalised(pair.twin, used)
    if ast.dump(sync) == ast.dump(twin) or delegates(pair.twin, pair.sync.name):
        return None
    lines = difflib.unified_diff(
        ast.unparse(sync).splitlines(),
        ast.unparse(twin).splitlines(),
        "sync",
        "async, normalised",
        lineterm="",
    )
    return "\n".join(lines)


def problems(found: dict[str, str | None], used: set[str]) -> list[str]:
    """What is wrong with the pairs ``found`` (name -> diff) against ``DIFFERENCES`` and ``PER_LOOP``."""
    unlisted = [
        f"{name}: differs from its sync original\n{diff}"
        for name, diff in found.items()
        if diff is not None and name not in DIFFERENCES
    ]
    fixed = [
        f"{name}: listed in DIFFERENCES, but now matches (or is gone); remove the entry"
        for name in DIFFERENCES
        if found.get(name) is None
    ]
    unused = [
        f"PER_LOOP[{stand_in!r}]: no async twin binds it any more; remove the entry"
        for stand_in in PER_LOOP
        if stand_in not in used
    ]
    return unlisted + fixed + unused


# ---------------------------------------------------------------- the gate


def test_twins_match_or_are_listed_with_a_reason() -> None:
    used: set[str] = set()
    found = {pair.name: difference(pair, used) for pair in pairs()}
    wrong = problems(found, used)
    assert not wrong, "\n\n".join(wrong) + (
        "\n\nMake each twin match its original, or list it in DIFFERENCES with the reason it differs."
    )


def test_every_twin_of_the_contract_is_checked() -> None:
    """The pairing finds the contract's twins on every provider (a renamed file would not hide them)."""
    names = {pair.name for pair in pairs()}
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
    assert difference(pair, set()) is None


def test_a_per_loop_stand_in_reads_as_what_it_stands_for() -> None:
    pair = _only_pair(
        """
        class C:
            def size(self) -> int:
                return self._client.dbsize()

            async def size_async(self) -> int:
                client = await self._loop_clients.current()
                return await client.dbsize()
        """
    )
    used: set[str] = set()
    assert difference(pair, used) is None
    assert used == {"self._loop_clients.current()"}


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
    assert difference(pair, set()) == (
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
    assert (difference(pair, set()) is None) is accepted


def test_twin_classes_pair_their_async_methods() -> None:
    found = {
        pair.name: difference(pair, set())
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
    [stand_in] = PER_LOOP
    wrong = problems({listed: None, "m:C.x_async": "a diff"}, used=set())
    assert wrong[0].startswith("m:C.x_async: differs")
    assert any(line.startswith(f"{listed}: listed in DIFFERENCES, but now matches") for line in wrong)
    assert wrong[-1].startswith(f"PER_LOOP[{stand_in!r}]: no async twin binds it")
