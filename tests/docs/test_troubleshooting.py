"""Every message ``docs/troubleshooting.md`` quotes is one the code can produce.

The page's quotes are its ```` ```text ```` blocks (one message each; the varying parts written as
``<placeholders>``). Each is checked against the string literals of ``src/`` as ``messages``
explains: the text between placeholders must be literal text of the source, or literals joined as
its nested f-strings join them. The checker itself is tested on messages the code really raises
(caught here, placeholders put in) and on messages it never produced.
"""

from __future__ import annotations

import re

import pytest

from src.infrastructure.cache.config.loader import load_cache_config
from src.interfaces.llm.cache import CacheConfigError
from tests.docs.markdown import DOCS, fenced_blocks, headings
from tests.docs.messages import PLACEHOLDER, stretches, unexplained

PAGE = DOCS / "troubleshooting.md"
QUOTES = [block for block in fenced_blocks(PAGE.read_text(encoding="utf-8")) if block.info == "text"]
#: A quote must say something of its own, not be all placeholders.
MIN_LITERAL = 12


def test_the_page_quotes_messages() -> None:
    assert len(QUOTES) >= 30, "the page should quote a message in every entry"


@pytest.mark.parametrize("quote", QUOTES, ids=[f"line{block.line}" for block in QUOTES])
def test_each_quote_is_a_message_of_the_source(quote: object) -> None:
    text = getattr(quote, "text", "")
    assert "\n" not in text, "one message per block"
    assert sum(map(len, stretches(text))) >= MIN_LITERAL, "the quote is all placeholders"

    assert not unexplained(text), (
        f"troubleshooting.md line {getattr(quote, 'line', '?')}: no string of src/ produces "
        f"{unexplained(text)}; quote the message as the code writes it now"
    )


def test_each_entry_has_a_quote() -> None:
    """Every entry (a level-3 heading) quotes at least one message below it."""
    text = PAGE.read_text(encoding="utf-8")
    entries = [title for level, title in headings(text) if level == 3]
    sections = re.split(r"^### .*$", text, flags=re.MULTILINE)[1:]

    without = [title for title, body in zip(entries, sections, strict=True) if "```text" not in body]

    assert not without, f"entries without a quoted message: {without}"


# ---------------------------------------------------------------- the checker itself


def _raised(text: str, environ: dict[str, str] | None = None, tmp_path: object = None) -> str:
    import pathlib

    path = pathlib.Path(str(tmp_path)) / "global.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CacheConfigError) as caught:
        load_cache_config(path, environ or {})
    return str(caught.value)


def test_a_message_the_code_raises_passes_with_its_values_as_placeholders(tmp_path: object) -> None:
    raised = _raised("cache:\n  providers:\n    redis:\n      port: ${PORT}\n", {"PORT": "abc"}, tmp_path)
    quoted = re.sub(r"'abc'", "<value>", raised)
    quoted = quoted.replace("PORT)", "<NAME>)").replace(str(tmp_path), "<dir>")

    assert "expected an integer" in raised
    assert not unexplained(quoted)


def test_a_nested_message_passes(tmp_path: object) -> None:
    """A message three f-strings deep (the setting's, the section's and the loader's)."""
    raised = _raised("cache:\n  default_provider: redis\n", None, tmp_path)
    quoted = (
        raised.replace(str(tmp_path), "<dir>")
        .replace("'redis'", "'<name>'")
        .replace(".redis.", ".<name>.")
        .replace("providers: memory", "providers: <names>")
    )

    assert not unexplained(quoted)


@pytest.mark.parametrize(
    "invented",
    [
        "the cache exploded: <why>",
        "cache key must be a string, got <type>",  # the code says "a str"
        "<path>: expected a whole number, got <value>",
        "<file>: no top-level 'cache:' section, but a top-level '<key>'; did you mean cache?",
    ],
)
def test_a_message_the_code_never_wrote_fails(invented: str) -> None:
    assert unexplained(invented)


def test_placeholders_are_angle_brackets() -> None:
    assert PLACEHOLDER.sub("_", "a <b> c <d e>") == "a _ c _"
