"""Parsing the configuration file's YAML safely: no code, no secrets in errors.

Only PyYAML's safe constructors run. Every failure, whatever the document holds, is one
:class:`CacheConfigError` naming the file, the line and the column and the problem - never the text
around it: the parser's snippet of the offending line would show a password written on it (or an
unquoted one the parser misread, as ``password: *Pa55`` is read as an alias named ``Pa55``).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import Node

from src.interfaces.llm.cache import CacheConfigError

#: A quoted piece of the document in a parser message: an alias, anchor or tag name of three
#: characters or more, quoted after a space. Single characters (',' '\t') stay, since they tell what
#: to fix, and so do the parser's own token names ('<stream end>').
_QUOTED = re.compile(r"""(?<=\s)(?:'(?!<[a-z ]+>')[^\s'][^']{2,}'|"[^\s"][^"]{2,}")""")


class ConfigLoader(yaml.SafeLoader):
    """The safe loader, with every failure of a constructor reported where it happened."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """The safe constructors, but a value they cannot convert (``!!int abc``, ``0b_``) raises a
        located :class:`ConstructorError` instead of their ``ValueError``, whose text quotes it."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, OverflowError):
            kind = str(node.tag).rpartition(":")[2]
            raise ConstructorError(None, None, f"cannot read this value as {kind}", node.start_mark) from None


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
