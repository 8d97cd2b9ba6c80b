"""A configuration file that is not valid YAML is reported by file, line, column and problem - never
by the text around the problem, which may be a password."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from src.infrastructure.cache.config.loader import load_cache_config
from src.interfaces.llm.cache import CacheConfigError
from tests.config.planted import SPECIALS, leaked, planted

HEAD = "cache:\n  providers:\n    redis:\n      host: cache.internal\n"


def refusal(tmp_path: Path, text: str) -> str:
    """The message (and everything chained to it) of loading ``text`` from a file."""
    path = tmp_path / "global.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CacheConfigError) as refused:
        load_cache_config(path, environ={})
    assert refused.value.__cause__ is None
    assert refused.value.__context__ is None  # the parser's error, snippet and all, is not kept
    message = str(refused.value)
    assert message.startswith(f"{path}: not valid YAML at line ")
    return message


#: Ways a password line breaks the document: a broken line after it, the password unquoted and read
#: as a mapping, an alias or a tag, forced to an integer, or an unterminated quote.
BREAKS = (
    '      password: "{pw}"\n      db: [unclosed\n',
    "      password: {pw}: tail\n",
    "      password: *{pw}\n",
    "      password: !{pw} x\n",
    "      password: !!int {pw}\n",
    '      url: "redis://u:{pw}@h:1/0\n',
)


@pytest.mark.parametrize("char", SPECIALS, ids=repr)
@pytest.mark.parametrize("line", BREAKS)
def test_a_yaml_error_near_a_password_never_shows_it(tmp_path: Path, line: str, char: str) -> None:
    password = planted(char)
    message = refusal(tmp_path, HEAD + line.format(pw=password))
    assert re.search(r"at line \d+, column \d+: \S", message)
    assert leaked(message, password) == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('      password: "s3cr3t-pw"\n      db: [unclosed\n', "line 7, column 1: expected ',' or ']'"),
        ("      password: *s3cr3t-pw\n", "line 5, column 17: found undefined alias '...'"),
        ("      password: !s3cr3t-pw x\n", "line 5, column 17: could not determine a constructor"),
        ("      password: !!int s3cr3t-pw\n", "line 5, column 17: cannot read this value as int"),
        ('      url: "redis://u:s3cr3t-pw@h:1/0\n', "line 6, column 1: found unexpected end of stream"),
    ],
)
def test_each_problem_is_named_where_it_is(tmp_path: Path, line: str, problem: str) -> None:
    message = refusal(tmp_path, HEAD + line)
    assert problem in message
    assert "s3cr3t" not in message


def test_the_problem_is_named_and_the_snippet_left_out(tmp_path: Path) -> None:
    message = refusal(tmp_path, HEAD + "      password: s3cr3t-pw: oops\n")
    assert re.search(r"at line 5, column \d+: mapping values are not allowed here$", message)
    assert "s3cr3t" not in message
    assert "^" not in message


def test_a_character_yaml_refuses_is_located(tmp_path: Path) -> None:
    message = refusal(tmp_path, HEAD + "      password: s3cr3t\x07pw\n")
    assert "at line 5, column 23: special characters are not allowed" in message
    assert "s3cr3t" not in message
