"""``docs/cli.md`` documents every command of ``agent-cache`` and every option of each, and no other.

Read from the click command itself (``src.cli.main.cli``): a command or option added, renamed or
removed fails here until the page follows. ``--config`` and ``-h``/``--help`` are documented once,
for every command, at the top of the page.
"""

from __future__ import annotations

import re

import click
import pytest

from src.cli.main import cli
from tests.docs.markdown import DOCS, fenced_blocks

PAGE = DOCS / "cli.md"
#: Options every command has, documented once at the top of the page.
COMMON = {"--config", "--help", "-h"}


def _commands() -> dict[str, click.Command]:
    assert isinstance(cli, click.Group)
    return dict(cli.commands)


def _page_sections() -> dict[str, str]:
    """Each ``## <command>`` section of the page, by command name."""
    text = PAGE.read_text(encoding="utf-8")
    parts = re.split(r"^## (\S+)\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _usage_options(section: str) -> set[str]:
    """The options the section's usage line (its ``sh`` block) shows."""
    usage = next(block.text for block in fenced_blocks(section) if block.info == "sh")
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", usage))


def test_every_command_has_a_section_and_no_section_is_stale() -> None:
    assert set(_page_sections()) == set(_commands())


@pytest.mark.parametrize("name", sorted(_commands()))
def test_the_usage_line_shows_every_option_of_the_command(name: str) -> None:
    options = {opt for param in _commands()[name].params for opt in param.opts if opt.startswith("-")}
    shown = _usage_options(_page_sections()[name])

    assert shown == options - COMMON, f"agent-cache {name}: the page shows {shown}, the command has {options}"


def test_the_common_and_global_options_are_on_the_page() -> None:
    text = PAGE.read_text(encoding="utf-8")
    global_options = {opt for param in cli.params for opt in param.opts if opt.startswith("-")}

    for option in COMMON | global_options | {"--version"}:
        assert f"`{option}" in text, option
