"""``docs/configuration.md`` documents every setting of the config classes, as the code has it.

Each reference table of the page must hold exactly the rows ``config_reference`` computes from the
config classes: every key (nested sections included), its type and bounds, its default and the
environment variable the shipped ``configs/global.yaml`` reads it from. Only the meaning is the
page's own. A setting added, removed, renamed or re-bounded in the code fails here until the page
says so; the failure prints the rows to paste (``python -m tests.docs.config_reference`` prints all).
"""

from __future__ import annotations

import re

import pytest

from tests.docs.config_reference import (
    NO_VARIABLE,
    PAGE,
    Row,
    cache_section_keys,
    expected_tables,
    parsed_section_keys,
)
from tests.docs.markdown import tables_by_heading

EXPECTED = expected_tables()


def _page_rows(heading: str) -> dict[str, list[str]]:
    tables = tables_by_heading(PAGE.read_text(encoding="utf-8"))
    assert heading in tables, f"docs/configuration.md has no table under a heading {heading!r}"
    rows: dict[str, list[str]] = {}
    for cells in tables[heading]:
        key = cells[0].strip("`")
        assert key not in rows, f"{heading}: {key} is documented twice"
        assert len(cells) == 5, f"{heading}: {key}: expected 5 cells (key, type, default, variable, meaning)"
        rows[key] = cells
    return rows


def _variables(cell: str) -> tuple[str, ...]:
    return () if cell == NO_VARIABLE else tuple(sorted(re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)))


def _paste(rows: list[Row]) -> str:
    return "\n".join(row.markdown("<meaning>") for row in rows)


@pytest.mark.parametrize("heading", list(EXPECTED))
def test_every_setting_has_a_row_and_no_row_is_stale(heading: str) -> None:
    page = _page_rows(heading)
    expected = {row.key: row for row in EXPECTED[heading]}

    missing = [row for key, row in expected.items() if key not in page]
    stale = sorted(set(page) - set(expected))

    assert not missing, f"{heading}: settings not documented; add these rows:\n{_paste(missing)}"
    assert not stale, f"{heading}: rows for settings the code does not have: {stale}"


@pytest.mark.parametrize("heading", list(EXPECTED))
def test_each_row_shows_the_codes_type_default_and_variable(heading: str) -> None:
    page = _page_rows(heading)
    wrong = [
        row
        for row in EXPECTED[heading]
        if row.key in page
        and (page[row.key][1], page[row.key][2], _variables(page[row.key][3]))
        != (row.type, row.default, tuple(sorted(row.variables)))
    ]

    assert not wrong, f"{heading}: rows that differ from the code; they should read:\n{_paste(wrong)}"


@pytest.mark.parametrize("heading", list(EXPECTED))
def test_each_row_says_what_the_setting_does(heading: str) -> None:
    empty = [key for key, cells in _page_rows(heading).items() if not cells[4]]

    assert not empty, f"{heading}: rows without a meaning: {empty}"


def test_the_cache_sections_keys_are_the_tables() -> None:
    """A key added to the ``cache:`` section itself (beside ``providers`` and ``llm``) needs a table."""
    assert cache_section_keys() == parsed_section_keys() == {"default_provider", "providers", "llm"}


def test_the_reference_covers_every_provider_type() -> None:
    from src.infrastructure.cache.config.caches import PROVIDER_CONFIG_TYPES
    from tests.docs.config_reference import TYPE_TABLES

    assert set(TYPE_TABLES) == set(PROVIDER_CONFIG_TYPES), "a new provider type needs a table of its own"
