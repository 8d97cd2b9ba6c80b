"""Can ``src/`` produce this message? Checking a quoted error message against the source's strings.

The troubleshooting page quotes messages as users see them, with the parts that vary written as
placeholders in angle brackets: ``cache.providers.<name>.port: expected an integer, got <value>``.
A message is built from the source's string literals, often by f-strings nested through several
functions (``SettingError`` makes ``f"{path}: {problem}"``, the loader appends
``f"{exc} (in {source})"``). So the literal text between two placeholders is a run of such pieces
joined end to end: the tail of one literal, whole literals, the head of another.

:func:`fragments` collects the literal pieces of every string in ``src/`` - plain strings, the
constant parts of f-strings, each split at its ``%s`` and ``{name}`` holes (logging and
``str.format`` templates) - leaving out docstrings, which are no message. :func:`unexplained`
returns the parts of a quote that no such joining produces: a
quote is good when it returns nothing. A message reworded in the code fails its quote, and so does
a quote that was never a message. What it cannot stop is a sentence deliberately strung together
from the source's single words (``"redis"``, ``" "``, ``"cache"``): it guards against drift, and
review against invention.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).parents[2] / "src"
#: A placeholder in a quote: what varies (a key path, a value, the server's own reply). Quotes
#: around it belong to it: a value the code shows with ``!r`` is written ``'<name>'``.
PLACEHOLDER = re.compile(r"'?<[^<>]*>'?")
#: Most literal pieces one stretch of a quote may be joined from (a tail, whole literals, a head).
MAX_PIECES = 12
#: The shortest whole literal with a letter or digit in it that counts as a piece. Shorter ones
#: (``"s"``, ``"Q"``: struct formats, plural endings) would let any sentence through; punctuation and
#: spaces of any length count (``" "`` joins a hint and a list in one message).
MIN_WORD = 3
_HOLE = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdrfi]|\{[A-Za-z_]\w*(?:![rs])?(?::[^{}]*)?\}")


@functools.cache
def fragments() -> frozenset[str]:
    """Every literal piece of every string in ``src/`` that is not a docstring."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node) for node in _docstring_nodes(tree)}
        specs = {id(node.format_spec) for node in ast.walk(tree) if isinstance(node, ast.FormattedValue)}
        for node in ast.walk(tree):
            text = _text_of(node)
            if id(node) in specs or id(node) in docstrings:
                continue
            if isinstance(node, ast.JoinedStr):
                found.update(_pieces_of_fstring(node))
            elif text is not None:
                # As written, and split at what may be template holes: whether "%s" or "{name}" in a
                # plain string is a hole (a logging or str.format template) or text cannot be told.
                found.add(text)
                found.update(piece for piece in _HOLE.split(text) if piece)
    return frozenset(found)


def _text_of(node: ast.AST) -> str | None:
    """The value of a string constant; None for any other node."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _docstring_nodes(tree: ast.Module) -> list[ast.AST]:
    scopes = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    owners = [tree, *(node for node in ast.walk(tree) if isinstance(node, scopes))]
    nodes: list[ast.AST] = []
    for owner in owners:
        body = owner.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            nodes.append(body[0].value)
    return nodes


def _pieces_of_fstring(node: ast.JoinedStr) -> list[str]:
    """The constant parts of an f-string (its format specs, such as ``.100``, are no text)."""
    constants = [value.value for value in node.values if isinstance(value, ast.Constant)]
    return [text for text in constants if isinstance(text, str) and text]


def stretches(quote: str) -> list[str]:
    """The literal text of a quote: what lies between its placeholders."""
    return [text for text in PLACEHOLDER.split(quote) if text]


def unexplained(quote: str) -> list[str]:
    """The stretches of ``quote`` that the source's literals cannot produce; empty when all can."""
    return [text for text in stretches(quote) if not _joinable(text)]


@dataclass(frozen=True)
class _Index:
    """The literals, and every head and tail of one, for lookups by value."""

    whole: frozenset[str]
    joiners: frozenset[str]
    heads: frozenset[str]
    tails: frozenset[str]


@functools.cache
def _index() -> _Index:
    pieces = fragments()
    heads = {piece[:end] for piece in pieces for end in range(1, len(piece) + 1)}
    tails = {piece[start:] for piece in pieces for start in range(len(piece))}
    joiners = {piece for piece in pieces if len(piece) >= MIN_WORD or not re.search(r"\w", piece)}
    return _Index(pieces, frozenset(joiners), frozenset(heads), frozenset(tails))


def _joinable(text: str) -> bool:
    """True if ``text`` lies inside one literal, or is the tail of a literal, then whole literals
    (with a letter: at least ``MIN_WORD`` long), then the head of a literal: ``MAX_PIECES`` at most."""
    index = _index()
    if any(text in piece for piece in index.whole):
        return True
    # Breadth first over where the pieces so far end.
    frontier = {end for end in range(1, len(text)) if text[:end] in index.tails}
    seen = set(frontier)
    for _ in range(MAX_PIECES - 1):
        if any(text[start:] in index.heads for start in frontier):
            return True
        frontier = {
            end
            for start in frontier
            for end in range(start + 1, len(text))
            if text[start:end] in index.joiners and end not in seen
        }
        seen |= frontier
    return any(text[start:] in index.heads for start in frontier)
