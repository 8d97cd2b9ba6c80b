"""The twin parity check: pairs each async twin with its sync original and compares their code.

The gate of httpcore's ``unasync --check`` and psycopg's ``async_to_sync --check``, without the
generator: both colours live side by side, so the check pairs them and compares their syntax trees.
``tests/unit/test_twin_parity.py`` runs it over ``src/`` and holds the lists of intended differences.

Pairs, found by parsing every module (nothing is imported):

* in one class (or at module level), ``x`` and ``x_async``, ``_x`` and ``_x_async``, ``close`` and
  ``aclose``;
* twin classes of one module, ``X`` and ``AsyncX``: each ``async def`` of ``AsyncX`` and the method
  of ``X`` it mirrors (same name, or ``__aenter__``/``__enter__``, ``aclose``/``close``, ...).

The async body is normalised (:func:`unasynced`): ``await`` dropped; ``async def``/``async with``/
``async for`` as their sync forms; names and attributes ending in ``_async`` without it, ``AsyncX``
as ``X``, and the other async spellings in ``_SYNC_SPELLING`` as their sync ones;
``asyncio.to_thread(f, *a)`` as ``f(*a)``, ``asyncio.shield(c)`` as ``c`` and ``asyncio.sleep`` as
``time.sleep``; ``async for x in it: yield x`` as ``yield from it``
(which an async generator cannot write); a local bound to a per-loop stand-in
(``client = await self._loop_clients.current()``) as the expression it stands in for
(``self._client``). Docstrings, annotations and ``cast(T, x)`` are left out of both sides (types
are mypy's job). What remains must be identical.

One difference is accepted by rule, because it cannot drift: an async twin that only delegates to
its sync twin, passing its own parameters through in order (``return self.get(key, default)``,
``return await asyncio.to_thread(self.clear)``).

Every other difference must be listed, with the reason it is intended. :func:`problems` reports a
differing pair that is not listed, and an entry whose pair no longer differs or no longer exists;
likewise a stand-in that no twin binds: the lists cannot rot.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

#: Async spellings and their sync counterparts, beyond the ``_async`` suffix.
_SYNC_SPELLING = {
    "aclose": "close",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "anext": "next",
    "asynccontextmanager": "contextmanager",
    "aclosing": "closing",
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


def pairs(src: Path) -> Iterator[Pair]:
    """Every twin pair in the package ``src`` (modules named from its parent: ``src.x.y``)."""
    for path in sorted(src.rglob("*.py")):
        module = ".".join(path.relative_to(src.parent).with_suffix("").parts)
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

    def __init__(self, per_loop: Mapping[str, str], used: set[str]) -> None:
        self._per_loop = per_loop
        self._used = used
        self._stand_ins: dict[str, str] = {}  # local name -> the sync expression it stands for

    def visit_Assign(self, node: ast.Assign) -> ast.AST | None:
        """``client = await self._loop_clients.current()`` is dropped; ``client`` becomes a stand-in."""
        target, value = node.targets[0], node.value
        if len(node.targets) == 1 and isinstance(target, ast.Name) and isinstance(value, ast.Await):
            stand_in = ast.unparse(value.value)
            if stand_in in self._per_loop:
                self._used.add(stand_in)
                self._stand_ins[target.id] = self._per_loop[stand_in]
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
        function = ast.unparse(node.func)
        if function == "asyncio.to_thread" and node.args:
            return ast.Call(func=node.args[0], args=node.args[1:], keywords=node.keywords)
        if function == "asyncio.shield" and len(node.args) == 1:  # the call, kept from the caller's cancel
            return node.args[0]
        if function == "asyncio.sleep":  # each colour's way to pause without busy waiting
            sleep = ast.parse("time.sleep", mode="eval").body
            return ast.Call(func=sleep, args=node.args, keywords=node.keywords)
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


def normalised(function: Function) -> ast.FunctionDef:
    """``function`` without what both colours may word differently."""
    return _normalised(function, None)


def unasynced(function: Function, per_loop: Mapping[str, str], used: set[str]) -> ast.FunctionDef:
    """The async ``function`` as the sync function it should equal; adds the stand-ins it met to ``used``."""
    return _normalised(function, _Unasync(per_loop, used))


def _normalised(function: Function, unasync: _Unasync | None) -> ast.FunctionDef:
    tree: ast.AST = ast.parse(ast.unparse(function)).body[0]  # a copy: the transformers edit in place
    if unasync is not None:
        tree = _visited(unasync, tree)
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
    if not isinstance(call, ast.Call) or call.keywords or twin.args.kwonlyargs:
        return False
    function, arguments = call.func, call.args
    if ast.unparse(function) == "asyncio.to_thread" and arguments:
        function, arguments = arguments[0], arguments[1:]
    parameters = [arg.arg for arg in [*twin.args.posonlyargs, *twin.args.args][1:]]  # without self
    return ast.unparse(function) == f"self.{original}" and [ast.unparse(a) for a in arguments] == parameters


def difference(pair: Pair, per_loop: Mapping[str, str], used: set[str]) -> str | None:
    """A diff of the normalised pair, or None if they match (or the twin only delegates)."""
    sync = normalised(pair.sync)
    twin = unasynced(pair.twin, per_loop, used)
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


def problems(
    found: Mapping[str, str | None],
    used: set[str],
    differences: Mapping[str, str],
    per_loop: Mapping[str, str],
) -> list[str]:
    """What is wrong with the pairs ``found`` (name -> diff or None) against the allow-lists."""
    unlisted = [
        f"{name}: differs from its sync original\n{diff}"
        for name, diff in found.items()
        if diff is not None and name not in differences
    ]
    fixed = [
        f"{name}: listed in DIFFERENCES, but now matches (or is gone); remove the entry"
        for name in differences
        if found.get(name) is None
    ]
    unused = [
        f"PER_LOOP[{stand_in!r}]: no async twin binds it any more; remove the entry"
        for stand_in in per_loop
        if stand_in not in used
    ]
    return unlisted + fixed + unused
