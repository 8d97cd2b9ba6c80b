"""``${NAME:default}`` / ``$<NAME:default>`` substitution in parsed YAML values.

Substitution happens after ``yaml.safe_load``, in the string values of the parsed document, so an
environment value is used verbatim whatever characters it holds (``#``, ``: ``, quotes, newlines) and
can never change the document's structure. Values are substituted once: a ``${...}`` inside an
environment value is kept as text. Type conversion is left to the typed config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from src.infrastructure.cache.config.sections import key_path
from src.interfaces.llm.cache import CacheConfigError

# ${NAME}, ${NAME:default}, $<NAME>, $<NAME:default>. A default may be empty and may contain ':'.
_MARKER = re.compile(
    r"\$\{(?P<brace_name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<brace_default>[^}]*))?\}"
    r"|\$<(?P<angle_name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<angle_default>[^>]*))?>"
)


def interpolate(document: Any, environ: Mapping[str, str], source: str) -> Any:
    """Return a copy of ``document`` with every marker in its string values replaced.

    A set variable wins, even when empty; an unset one takes the default. An unset variable with no
    default raises :class:`CacheConfigError` naming the variable, the key path and ``source``.
    """
    return _walk(document, environ, source, "")


def _walk(node: Any, environ: Mapping[str, str], source: str, path: str) -> Any:
    if isinstance(node, str):
        return _substitute(node, environ, source, path)
    if isinstance(node, dict):
        return {key: _walk(value, environ, source, key_path(path, key)) for key, value in node.items()}
    if isinstance(node, list):
        return [_walk(item, environ, source, f"{path}[{index}]") for index, item in enumerate(node)]
    return node


def _substitute(text: str, environ: Mapping[str, str], source: str, path: str) -> str:
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        name = match["brace_name"] or match["angle_name"]
        default = match["brace_default"] if match["brace_name"] else match["angle_default"]
        value = environ.get(name)
        if value is not None:
            return value
        if default is not None:
            return default
        raise CacheConfigError(
            f"environment variable {name} is not set and has no default "
            f"(used at {path or '<root>'} in {source}); set it, or write ${{{name}:default}}"
        )

    return _MARKER.sub(replace, text)
