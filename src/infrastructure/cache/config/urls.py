"""Redis URLs in the configuration: shown with their credentials masked, and checked at load time.

Where the credentials of a URL end is decided here without a URL parser, on purpose. A password
that is not percent-encoded and holds ``#``, ``/`` or ``?`` ends ``urlsplit``'s network location
inside the password: the parser then reads no password at all and a piece of it as the host or
port, so a mask built on the parser shows the whole password, and redis-py's errors quote the piece.
Here the user info is everything between ``://`` and the *last* ``@``, whatever it holds: at worst
that masks too much (an ``@`` later in the query), never too little.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from redis.connection import URL_QUERY_ARGUMENT_PARSERS, parse_url

MASK = "***"
SCHEMES = ("redis://", "rediss://", "unix://")

#: RFC 3986 ``userinfo``: unreserved and sub-delimiter characters, ``:`` and ``%XX`` escapes only.
#: Anything else (``@ # / ? %`` on its own, spaces, non-ASCII) must be percent-encoded first.
_USERINFO = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*")
#: Characters ``urlsplit`` silently drops or strips, and other whitespace or control characters.
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]")
#: A ``password=`` query parameter (redis-py passes unknown parameters on to the connection).
_QUERY_PASSWORD = re.compile(r"(?is)(password=).*")
#: Query parameters redis-py reads and types itself, plus the one plain string it passes on.
#: Any other name reaches the connection's constructor and fails there, at the first command.
QUERY_PARAMETERS = frozenset(URL_QUERY_ARGUMENT_PARSERS) | {"client_name"}

PERCENT_ENCODE = (
    "everything between '://' and the last '@' is read as the user name and password, and it holds "
    "characters that must be percent-encoded there (such as @ # / ? % or a space); write the password "
    "as urllib.parse.quote(password, safe='') (so 'p#ss' becomes 'p%23ss'), or set host, port, db, "
    "username and password instead of url"
)


def split_userinfo(url: str) -> tuple[str, str | None, str]:
    """``(scheme_and_slashes, userinfo, rest)``: user info is all between ``://`` and the last ``@``.

    ``userinfo`` is None when there is no ``@``; a URL without ``://`` has an empty first part.
    """
    scheme, separator, remainder = url.partition("://")
    if not separator:
        scheme, remainder = "", url
    userinfo, at, rest = remainder.rpartition("@")
    return scheme + separator, (userinfo if at else None), rest


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``'***'``, however the password is written.

    ``user:password@`` keeps the user name; user info without ``:`` is masked whole (people write a
    bare password there too); a ``password=`` query parameter is masked to the end of the URL.
    """
    # The query first: an '@' inside a password there would otherwise pass for the user info's end.
    prefix, userinfo, rest = split_userinfo(_QUERY_PASSWORD.sub(rf"\g<1>{MASK}", url))
    if userinfo is None:
        return prefix + rest
    user, colon, _password = userinfo.partition(":")
    shown_user = f"{user}:" if colon else ""
    return f"{prefix}{shown_user}{MASK}@{rest}"


def check_redis_url(url: str) -> None:
    """Raise ``ValueError`` unless redis-py reads ``url`` as the server, database and credentials
    it shows. The message never holds the user info; it shows the URL masked, if at all."""
    if not url.startswith(SCHEMES):
        raise ValueError(
            "must start with redis://, rediss:// or unix:// "
            "(e.g. rediss://user:percent-encoded-password@host:6380/0)"
        )
    _prefix, userinfo, rest = split_userinfo(url)
    if userinfo is not None and not _USERINFO.fullmatch(userinfo):
        raise ValueError(PERCENT_ENCODE)
    shown = repr(mask_url(url))
    if _INVISIBLE.search(rest):
        raise ValueError(f"holds a space or a control character, which must be percent-encoded: {shown}")
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when not a number in 0..65535
    except ValueError as exc:  # its text shows only what follows the user info
        raise ValueError(f"not a valid URL ({exc}): {shown}") from None
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError(f"a unix:// URL needs the socket's path, e.g. unix:///run/redis.sock: {shown}")
    else:
        _check_server(parts.hostname, port, parts.path, shown)
    _check_query(parts.query, shown)
    try:
        parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as exc:  # a query value of the wrong type, in redis-py's words (names only)
        raise ValueError(f"{exc} {shown}") from None


def _check_server(host: str | None, port: int | None, path: str, shown: str) -> None:
    if not host:
        raise ValueError(f"names no host: {shown}")
    if port == 0:  # redis-py would quietly use 6379 instead
        raise ValueError(f"port must be between 1 and 65535: {shown}")
    database = path.strip("/")
    if database and not database.isdigit():  # redis-py would quietly use database 0
        raise ValueError(f"the path must be the database number, like /0: {shown}")


def _check_query(query: str, shown: str) -> None:
    for name, _value in parse_qsl(query, keep_blank_values=True):
        if name in ("password", "username"):
            raise ValueError(
                f"put the {name} in the URL's user info (percent-encoded) or in the {name} setting, "
                f"not in the query: {shown}"
            )
        if name not in QUERY_PARAMETERS:
            raise ValueError(
                f"query parameter {name!r} is not one redis-py reads from a URL "
                f"(known: {', '.join(sorted(QUERY_PARAMETERS))}): {shown}"
            )


def url_database(url: str) -> int:
    """The database a valid Redis URL names (its ``?db=`` or path), 0 when it names none."""
    return int(parse_url(url).get("db", 0))  # type: ignore[no-untyped-call]
