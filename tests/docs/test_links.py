"""Every link between the README and the docs' pages resolves, anchors included; every page is in the nav.

``make docs`` (mkdocs ``--strict``) checks the site's links too; this also covers the README, which
is not part of the site, and runs in a fraction of a second with the unit tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.docs.markdown import DOCS, ROOT, headings, links, slug

PAGES = sorted(path for path in DOCS.rglob("*.md") if "_hooks" not in path.parts)
SOURCES = [ROOT / "README.md", *PAGES]


def _anchors(page: Path) -> set[str]:
    return {slug(title) for _, title in headings(page.read_text(encoding="utf-8"))}


def _broken(source: Path) -> list[str]:
    broken = []
    for line, target in links(source.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path_part, _, anchor = target.partition("#")
        path = (source.parent / path_part).resolve() if path_part else source
        if not path.exists():
            broken.append(f"line {line}: {target} (no such file)")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"line {line}: {target} (no heading with that anchor)")
    return broken


@pytest.mark.parametrize("source", SOURCES, ids=[str(path.relative_to(ROOT)) for path in SOURCES])
def test_every_link_resolves(source: Path) -> None:
    assert not _broken(source)


def _nav_pages(nav: object) -> set[str]:
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, list):
        return {page for item in nav for page in _nav_pages(item)}
    if isinstance(nav, dict):
        return {page for item in nav.values() for page in _nav_pages(item)}
    return set()


def test_every_page_is_in_the_nav_and_the_nav_has_only_pages() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = {str(path.relative_to(DOCS)) for path in PAGES}

    assert _nav_pages(config["nav"]) == pages


def test_the_readme_links_every_page_of_the_site() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    readme = {target.partition("#")[0] for _, target in links(text)}
    top_pages = {f"docs/{path.name}" for path in PAGES if path.parent == DOCS and path.name != "index.md"}

    assert top_pages <= readme, f"pages the README does not link: {sorted(top_pages - readme)}"
