"""Reading the docs' Markdown the way the tests need it: headings, tables, fenced blocks, links."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(```+|~~~+)(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
#: ``[text](target)`` not preceded by ``!`` (images are checked alike: both must resolve).
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_CODE_SPAN = re.compile(r"`+[^`]*`+")


@dataclass(frozen=True)
class Block:
    """A fenced code block: its info string (``text``, ``yaml``, ...) and its lines."""

    info: str
    text: str
    line: int


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of every line outside fenced code blocks."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        found = _FENCE.match(line.strip())
        if found and (fence is None or found.group(1).startswith(fence)):
            fence = None if fence else found.group(1)
            continue
        if fence is None:
            yield number, line


def fenced_blocks(text: str) -> list[Block]:
    """Every fenced code block, in order."""
    blocks: list[Block] = []
    fence: str | None = None
    info, start = "", 0
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        found = _FENCE.match(line.strip())
        if fence is None and found:
            fence, info, start, lines = found.group(1), found.group(2).strip(), number, []
        elif fence is not None and found and found.group(1).startswith(fence) and not found.group(2):
            blocks.append(Block(info, "\n".join(lines), start))
            fence = None
        elif fence is not None:
            lines.append(line)
    return blocks


def headings(text: str) -> list[tuple[int, str]]:
    """``(level, title)`` of every heading outside code blocks."""
    found = (_HEADING.match(line) for _, line in prose_lines(text))
    return [(len(match.group(1)), match.group(2)) for match in found if match]


def slug(title: str) -> str:
    """The anchor Python-Markdown's ``toc`` gives a heading (as mkdocs and GitHub alike, for ours)."""
    text = re.sub(r"<[^>]+>", "", title).replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def tables_by_heading(text: str) -> dict[str, list[list[str]]]:
    """The first table under each heading: its body rows as lists of cells (header row dropped)."""
    tables: dict[str, list[list[str]]] = {}
    heading: str | None = None
    rows: list[list[str]] = []
    for _, line in prose_lines(text):
        match = _HEADING.match(line)
        if match:
            heading, rows = match.group(2), []
            continue
        if heading is not None and line.startswith("|") and heading not in tables:
            rows.append(split_row(line))
        elif rows and heading is not None and heading not in tables:
            tables[heading] = rows[2:]  # header and separator
            rows = []
    if rows and heading is not None and heading not in tables:
        tables[heading] = rows[2:]
    return tables


def split_row(line: str) -> list[str]:
    """The cells of a table row; a ``|`` inside a code span does not split."""
    cells, cell, in_code = [], "", False
    for char in line.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(cell.strip())
            cell = ""
        else:
            cell += char
    cells.append(cell.strip())
    return cells


def links(text: str) -> list[tuple[int, str]]:
    """``(line number, target)`` of every Markdown link and image outside code."""
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(text):
        for match in _LINK.finditer(_CODE_SPAN.sub("", line)):
            found.append((number, match.group(1)))
    return found
