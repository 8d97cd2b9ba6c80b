"""The one place where redis-py's exceptions become agent-cache's.

The provider catches :data:`BACKEND_ERRORS` around every round trip and raises what
:func:`translate` returns, ``from`` the original. Callers therefore never see a redis type, and the
original stays available as ``__cause__`` for debugging.
"""

from __future__ import annotations

import ssl

from redis import exceptions as redis_errors

from src.interfaces.llm.cache import CacheAccessError, CacheError, CacheUnavailableError

#: What a round trip to Redis may raise. ``OSError`` covers socket and TLS errors redis-py lets
#: through, and ``TimeoutError`` (which ``asyncio.TimeoutError`` is, on Python 3.11).
BACKEND_ERRORS: tuple[type[Exception], ...] = (redis_errors.RedisError, OSError)

# The server refused us for who we are (wrong password, unknown user, ACL denial of a command or
# key): retrying will not help and a fallback would hide the misconfiguration, so these are
# access errors, never "unavailable". NoPermissionError is a ResponseError: checked before it.
_AUTH_ERRORS = (
    redis_errors.AuthenticationError,
    redis_errors.AuthorizationError,
    redis_errors.AuthenticationWrongNumberOfArgsError,
    redis_errors.NoPermissionError,
)

# redis-py's blocking pools raise a plain ConnectionError with this text when no connection frees
# up within the pool timeout; the text is the only thing that tells it apart from a refused connect.
_POOL_EXHAUSTED_TEXT = "No connection available"

_ACCESS_KINDS = ("auth", "tls")
_UNAVAILABLE_KINDS = ("pool_exhausted", "timeout", "connection")


def error_kind(exc: BaseException) -> str:
    """Short label of a backend failure, used as the key of ``get_stats()['errors_by_kind']``."""
    if isinstance(exc, _AUTH_ERRORS):
        return "auth"
    if _tls_refusal(exc):
        return "tls"
    if isinstance(exc, redis_errors.MaxConnectionsError) or _POOL_EXHAUSTED_TEXT in str(exc):
        return "pool_exhausted"
    if isinstance(exc, redis_errors.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, redis_errors.ConnectionError | OSError):
        return "connection"
    if isinstance(exc, redis_errors.ResponseError):
        return "response"
    return "redis"


def translate(exc: BaseException, operation: str, server: str) -> CacheError:
    """The agent-cache error for ``exc``; raise it ``from exc``.

    Refused credentials, ACL denials and TLS certificate failures: :class:`CacheAccessError`.
    Unreachable, timed out or pool exhausted: :class:`CacheUnavailableError`. Anything else (an
    error reply such as ``OOM`` or ``READONLY``, a protocol error): :class:`CacheError`. ``server``
    must already be free of secrets; redis-py's messages carry host and port but never the password.
    """
    kind = error_kind(exc)
    message = f"redis {operation} failed on {server} ({kind}): {_what_to_check(exc)}{_reply_text(exc)}"
    if kind in _ACCESS_KINDS:
        return CacheAccessError(message)
    if kind in _UNAVAILABLE_KINDS:
        return CacheUnavailableError(message)
    return CacheError(message)


def _reply_text(exc: BaseException) -> str:
    """``exc``'s text, with the code redis-py cut off the server's error reply put back in front.

    redis-py turns ``-OOM command not allowed ...`` into an ``OutOfMemoryError`` whose text starts
    at "command": the code is what an operator reads and searches for (OOM, NOPERM, READONLY).
    """
    text = str(exc)
    code = getattr(exc, "status_code", None)
    return f"{code} {text}" if isinstance(code, str) and code and not text.startswith(code) else text


def _tls_refusal(exc: BaseException) -> bool:
    """True if the TLS handshake failed on a certificate, ours or the server's.

    redis-py wraps the ``ssl`` error in a ConnectionError and keeps it only as ``__context__``.
    We do not trust the server: ``SSLCertVerificationError`` (unknown CA, wrong host name,
    expired). The server does not accept us: it sent a TLS alert (``..._ALERT_UNKNOWN_CA``,
    ``..._ALERT_CERTIFICATE_REQUIRED``, ``..._ALERT_HANDSHAKE_FAILURE``). A bare EOF is not counted:
    it is also what a crashed server looks like (see docs/operations.md, "Access errors").
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        if isinstance(cause, ssl.SSLError) and "ALERT" in (cause.reason or ""):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


# What to check, for a refusal whose raw text does not say (``HELLO must be called with the client
# already authenticated...`` means "no credentials were sent"). Settings and variables are named,
# never their values; the provider does not know its cache's name, hence ``<name>``.
_CREDENTIALS = (
    "check username and password of cache.providers.<name> (or the user info of its url; "
    "AGENT_CACHE_REDIS_USERNAME and AGENT_CACHE_REDIS_PASSWORD, or AGENT_CACHE_REDIS_URL, for the "
    "shipped redis cache; in sentinel mode also sentinel_username and sentinel_password)"
)
_NOT_SENT_TEXTS = ("must be called with the client already authenticated", "Authentication required")


def _what_to_check(exc: BaseException) -> str:
    """A hint naming the settings to fix for a refusal of who we are, followed by the server's text."""
    if isinstance(exc, redis_errors.NoPermissionError):
        return (
            "the user lacks an ACL permission for this command or key: grant it on the server, or set "
            "username (AGENT_CACHE_REDIS_USERNAME) to a user that has it; server said: "
        )
    if isinstance(exc, redis_errors.AuthenticationError | redis_errors.AuthenticationWrongNumberOfArgsError):
        if any(text in str(exc) for text in _NOT_SENT_TEXTS):
            return f"the server requires credentials and none were sent: {_CREDENTIALS}; server said: "
        return f"the server refused the credentials: {_CREDENTIALS}; server said: "
    return ""
