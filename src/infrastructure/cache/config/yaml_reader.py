"""Parsing the configuration file's YAML safely: no code, no secrets in errors, bounded work.

Only PyYAML's safe constructors run, and timestamps stay text: no cache setting is a date, and an
impossible date elsewhere in the framework's file (``released: 2001-13-45``) is not ours to refuse.
Nesting is bounded (PyYAML composes recursively: deep nesting was a ``RecursionError``), and so is
what aliases add: a few hundred bytes of anchors, each aliased eight times by the next, expand
eightfold per level when the settings are walked (a "billion laughs"). A recursive alias is refused.
A key written twice in one mapping is refused too: YAML parsers keep the last one silently, so a
second ``near_cache:`` or ``redis:`` would replace the first without a word.

Every failure, whatever the document holds, is one :class:`CacheConfigError` naming the file, the
line and the column and the problem - never the text around it: the parser's snippet of the
offending line would show a password written on it (or an unquoted one the parser misread, as
``password: *Pa55`` is read as an alias named ``Pa55``).
"""

from __future__ import annotations

import re
from typing import Any, NoReturn, cast

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from src.infrastructure.cache.config.sections import is_name
from src.interfaces.llm.cache import CacheConfigError

#: A quoted piece of the document in a parser message: an alias, anchor or tag name of three
#: characters or more, quoted after a space. Single characters (',' '\t') stay, since they tell what
#: to fix, and so do the parser's own token names ('<stream end>').
_QUOTED = re.compile(r"""(?<=\s)(?:'(?!<[a-z ]+>')[^\s'][^']{2,}'|"[^\s"][^"]{2,}")""")


#: Deepest nesting of collections, aliases expanded. The framework's files nest a handful of levels;
#: this keeps PyYAML's recursive composer, and the walks over the settings, far from the stack limit.
MAX_DEPTH = 64
#: Most nodes that aliases may add to the document once expanded (anchors for shared settings add
#: tens). Counted over the whole document, at each alias, so the file is refused before anything
#: walks the expansion; the framework's own sections share the budget.
MAX_ALIAS_NODES = 10_000


class ConfigLoader(yaml.SafeLoader):
    """The safe loader with timestamps kept as text, nesting and alias expansion bounded, and every
    failure of a constructor reported where it happened."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0  # of the node being composed
        self._alias_nodes = 0  # nodes added by the aliases composed so far
        #: Per composed node (by id): (nodes in it, its height), aliases inside it expanded. A node
        #: that is not here yet is still being composed.
        self._expanded: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """PyYAML's composer, counting each node and refusing what would nest or expand too far."""
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self._check_alias(event)
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            _refuse(f"nested deeper than {MAX_DEPTH} levels", event)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, MappingNode):
            _refuse_duplicate_keys(node)
        if node is not None:
            children = [self._expanded[id(child)] for child in _children(node)]
            nodes, height = 1 + sum(n for n, _ in children), 1 + max((h for _, h in children), default=0)
            self._expanded[id(node)] = (nodes, height)
        return node

    def _check_alias(self, event: yaml.AliasEvent) -> None:
        target = self.anchors.get(event.anchor)
        if target is None:
            return  # PyYAML reports the undefined alias
        if id(target) not in self._expanded:
            _refuse("an alias inside the node its anchor names (a recursive alias)", event)
        nodes, height = self._expanded[id(target)]
        if self._depth + height > MAX_DEPTH:
            _refuse(f"this alias nests the document deeper than {MAX_DEPTH} levels", event)
        self._alias_nodes += nodes
        if self._alias_nodes > MAX_ALIAS_NODES:
            _refuse(f"aliases expand the document by more than {MAX_ALIAS_NODES} nodes", event)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """The safe constructors, but a value they cannot convert (``!!int abc``, ``0b_``) raises a
        located :class:`ConstructorError` instead of their ``ValueError``, whose text quotes it."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, OverflowError):
            kind = str(node.tag).rpartition(":")[2]
            raise ConstructorError(None, None, f"cannot read this value as {kind}", node.start_mark) from None


def _timestamp_as_text(loader: ConfigLoader, node: Node) -> Any:
    """``2001-13-45`` and every other YAML timestamp, as the text it is written as."""
    assert isinstance(node, ScalarNode)  # the resolver tags only plain scalars as timestamps
    return loader.construct_scalar(node)


ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _refuse(problem: str, event: yaml.Event) -> NoReturn:
    raise ComposerError(None, None, problem, cast(Mark, event.start_mark))


def _refuse_duplicate_keys(node: MappingNode) -> None:
    """Refuse a plain key written twice in ``node`` as written (merge keys, ``<<``, may repeat what
    they merge: that is what they are for). A key that is not a name is not shown (a secret?)."""
    first: dict[tuple[str, str], ScalarNode] = {}
    for key, _value in node.value:
        if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        earlier = first.setdefault((key.tag, key.value), key)
        if earlier is not key:
            shown = f"key {key.value}" if is_name(key.value) else "a key (not shown: not a name)"
            line = earlier.start_mark.line + 1
            problem = f"{shown} is written twice in one mapping (first at line {line}): keep one"
            raise ComposerError(None, None, problem, key.start_mark)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def read_yaml(text: str, source: str) -> Any:
    """The document in ``text`` (None if empty); :class:`CacheConfigError` naming ``source`` if invalid."""
    try:
        return _parse(text)
    except yaml.YAMLError as exc:
        problem = _where_and_what(exc, text)
    # Raised out here, so that the parser's error (its snippet of the file) is not even chained.
    raise CacheConfigError(f"{source}: not valid YAML{problem}")


def _parse(text: str) -> Any:
    loader = ConfigLoader(text)  # the reader checks every character here already
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _where_and_what(exc: yaml.YAMLError, text: str) -> str:
    """`` at line L, column C: problem`` from a parser error, with quoted document text removed."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = _QUOTED.sub("'...'", exc.problem or exc.context or "malformed")
        return f"{_at(mark.line, mark.column) if mark else ''}: {problem}"
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        before = text[: exc.position]
        line, column = before.count("\n"), exc.position - (before.rfind("\n") + 1)
        return f"{_at(line, column)}: {exc.reason}"
    return f": {type(exc).__name__}"


def _at(line: int, column: int) -> str:
    return f" at line {line + 1}, column {column + 1}"
