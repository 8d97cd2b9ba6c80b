"""``docs/metrics.md`` documents exactly the metrics the code exports, with their units and attributes."""

from __future__ import annotations

from pathlib import Path

from src.infrastructure.cache.metrics.names import ALL, markdown_table

PAGE = Path(__file__).parents[2] / "docs" / "metrics.md"


def test_the_table_of_every_metric_is_the_codes() -> None:
    page = PAGE.read_text(encoding="utf-8")

    assert markdown_table() in page, "regenerate it: python -m src.infrastructure.cache.metrics.names"


def test_every_metric_is_on_the_page_once() -> None:
    page = PAGE.read_text(encoding="utf-8")

    for spec in ALL:
        assert page.count(f"| `{spec.name}` |") == 1, spec.name
