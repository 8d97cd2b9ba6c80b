"""mkdocs hook: the docstrings' Sphinx roles (``:class:`X```) shown as the code they name.

The source's docstrings are written for Python's own tools, in reStructuredText's roles
(``:class:``, ``:meth:``, ``:func:``, ...). mkdocstrings renders the backquoted name as code and
leaves the role's text in front of it; this drops that text, and the ``~`` that asks for the last
component only (whose name is then shown). Offline, no plugin: a hook of mkdocs itself.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|data|exc|obj|const):(?=<code>)")
_TILDE = re.compile(r"<code>~(?:[\w.]+\.)?(\w+)</code>")


def on_page_content(html: str, **_kwargs: Any) -> str:
    """The page's HTML without role markers in front of code."""
    return _TILDE.sub(r"<code>\1</code>", _ROLE.sub("", html))
