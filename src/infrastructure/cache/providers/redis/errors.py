"""The one place where redis-py's exceptions become agent-cache's.

The provider catches :data:`BACKEND_ERRORS` around every round trip and raises what
:func:`translate` returns, ``from`` the original. Callers therefore never see a redis type, and the
original stays available as ``__cause__`` for debugging.
"""

from __future__ import annotations

from redis import exceptions as redis_errors

from src.interfaces.llm.cache import CacheError, CacheUnavailableError

#: What a round trip to Redis may raise. ``OSError`` covers socket and TLS errors redis-py lets
#: through, and ``TimeoutError`` (which ``asyncio.TimeoutError`` is, on Python 3.11).
BACKEND_ERRORS: tuple[type[Exception], ...] = (redis_errors.RedisError, OSError)

# The server refused us for who we are: as unusable as an unreachable server, and retrying soon
# will not help, so it is reported as unavailable rather than as a bad command.
_AUTH_ERRORS = (
    redis_errors.AuthenticationError,
    redis_errors.AuthorizationError,
    redis_errors.AuthenticationWrongNumberOfArgsError,
)

# redis-py's blocking pools raise a plain ConnectionError with this text when no connection frees
# up within the pool timeout; the text is the only thing that tells it apart from a refused connect.
_POOL_EXHAUSTED_TEXT = "No connection available"


def error_kind(exc: BaseException) -> str:
    """Short label of a backend failure, used as the key of ``get_stats()['errors_by_kind']``."""
    if isinstance(exc, _AUTH_ERRORS):
        return "auth"
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

    Unreachable, timed out, pool exhausted or refused credentials: :class:`CacheUnavailableError`.
    Anything else (an error reply such as ``OOM`` or ``READONLY``, a protocol error):
    :class:`CacheError`. ``server`` must already be free of secrets; redis-py's messages carry
    host and port but never the password.
    """
    kind = error_kind(exc)
    message = f"redis {operation} failed on {server} ({kind}): {exc}"
    if kind in ("auth", "pool_exhausted", "timeout", "connection"):
        return CacheUnavailableError(message)
    return CacheError(message)
