"""``${NAME:default}`` / ``$<NAME:default>`` substitution in parsed YAML values.

Substitution happens after ``yaml.safe_load``, in the string values of the parsed document, so an
environment value is used verbatim whatever characters it holds (``#``, ``: ``, quotes, newlines) and
can never change the document's structure. Values are substituted once: a ``${...}`` inside an
environment value is kept as text. Type conversion is left to the typed config.

Which key paths took their value from which variables is recorded (:class:`Interpolated`), so that
a value refused later is reported with the variable to fix (:func:`origin_note`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from src.infrastructure.cache.config.sections import key_path
from src.interfaces.llm.cache import CacheConfigError

# ${NAME}, ${NAME:default}, $<NAME>, $<NAME:default>. A default may be empty and may contain ':'.
_MARKER = re.compile(
    r"\$\{(?P<brace_name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<brace_default>[^}]*))?\}"
    r"|\$<(?P<angle_name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<angle_default>[^>]*))?>"
)
#: An item's index at the end of a key path: ``startup_nodes[1]``.
_INDEX = re.compile(r"\[\d+\]$")


@dataclass(frozen=True)
class Interpolated:
    """A document with its markers replaced, and the variables each key path's value came from."""

    value: Any
    #: Key path (``cache.providers.redis.port``) -> the *set* variables substituted into its value.
    #: A default written in the file is the file's value, not a variable's, and is not recorded.
    origins: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def interpolate(document: Any, environ: Mapping[str, str], source: str, root: str = "") -> Any:
    """Return a copy of ``document`` with every marker in its string values replaced.

    A set variable wins, even when empty; an unset one takes the default. An unset variable with no
    default raises :class:`CacheConfigError` naming the variable, the key path and ``source``.
    ``root`` is the key path of ``document`` itself (``"cache"`` for the cache section).
    """
    return interpolate_recording(document, environ, source, root).value


def interpolate_recording(
    document: Any, environ: Mapping[str, str], source: str, root: str = ""
) -> Interpolated:
    """:func:`interpolate`, also recording which key paths took which variables."""
    substitution = _Substitution(environ, source)
    value = substitution.walk(document, root)
    return Interpolated(value, substitution.origins)


def origin_note(origins: Mapping[str, tuple[str, ...]], path: str) -> str:
    """`` (from environment variable NAME)`` if the value at ``path`` came from one, else ``""``.

    An item of a list (``startup_nodes[1]``) came from the variable that held the whole list, when
    no variable gave the item itself.
    """
    names = origins.get(path) or origins.get(_INDEX.sub("", path))
    if not names:
        return ""
    plural = "s" if len(names) > 1 else ""
    return f" (from environment variable{plural} {', '.join(names)})"


class _Substitution:
    """One walk over a document: the environment, the file's name for messages, and the record."""

    def __init__(self, environ: Mapping[str, str], source: str) -> None:
        self.environ = environ
        self.source = source
        self.origins: dict[str, tuple[str, ...]] = {}

    def walk(self, node: Any, path: str) -> Any:
        if isinstance(node, str):
            return self.substitute(node, path)
        if isinstance(node, dict):
            return {key: self.walk(value, key_path(path, key)) for key, value in node.items()}
        if isinstance(node, list):
            return [self.walk(item, f"{path}[{index}]") for index, item in enumerate(node)]
        return node

    def substitute(self, text: str, path: str) -> str:
        if "$" not in text:
            return text
        used: list[str] = []

        def replace(match: re.Match[str]) -> str:
            name = match["brace_name"] or match["angle_name"]
            value = self.environ.get(name)
            if value is not None:
                used.append(name)
                return value
            default = match["brace_default"] if match["brace_name"] else match["angle_default"]
            if default is not None:
                return default
            raise CacheConfigError(
                f"environment variable {name} is not set and has no default "
                f"(used at {path or '<root>'} in {self.source}); set it, or write ${{{name}:default}}"
            )

        result = _MARKER.sub(replace, text)
        if used:
            self.origins[path] = tuple(dict.fromkeys(used))
        return result
