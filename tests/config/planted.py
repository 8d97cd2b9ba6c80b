"""Planted passwords for leak checks: one per character with a meaning in a URL, each easy to find.

Shared by the config tests and the security scan (``tests/security/test_secrets.py``).
"""

from __future__ import annotations

import re

#: Characters with a meaning in a URL (or in YAML), and the others the issue names.
SPECIALS = ("#", "/", "?", "@", ":", "%", " ", "&", "=")
#: Those that cannot stand unencoded in a URL's user info (RFC 3986), or that redis-py misreads there.
MUST_ENCODE = ("#", "/", "?", "@", "%", " ")


def planted(char: str) -> str:
    """A distinctive password holding ``char`` twice, between runs of letters and digits."""
    return f"Kq{ord(char):02x}Hv7w{char}Wm4d{char}Zp9t"


def fragments(password: str) -> list[str]:
    """The password and every run of 4+ letters and digits in it: each would be recognisable."""
    return [password, *re.findall(r"[A-Za-z0-9]{4,}", password)]


def leaked(text: str, password: str) -> list[str]:
    """The recognisable pieces of ``password`` that ``text`` shows (none, one hopes)."""
    return [piece for piece in fragments(password) if piece in text]
