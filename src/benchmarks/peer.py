"""aiocache's ``RedisCache`` with its msgpack serializer: the best-known Python peer.

As shipped (aiocache 0.12), ``MsgPackSerializer`` cannot round-trip a dict through Redis: it
inherits ``DEFAULT_ENCODING = "utf-8"``, so the Redis backend decodes the stored msgpack bytes as
UTF-8 before ``loads`` sees them, and fails (aiocache issue #834, fixed upstream by PR #1079). The
small subclass here applies that fix: raw bytes reach ``loads``, which decodes strings as ``str``.
Everything else is aiocache's defaults, including its per-call ``asyncio.wait_for`` timeout (5 s).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import msgpack

logger = logging.getLogger(__name__)

try:
    from aiocache import RedisCache
    from aiocache.serializers import MsgPackSerializer
except ImportError:  # optional: pip install 'agent-cache[bench]'
    RedisCache = MsgPackSerializer = None


def available() -> bool:
    """True if aiocache is installed."""
    return RedisCache is not None


if MsgPackSerializer is not None:

    class DictMsgPackSerializer(MsgPackSerializer):  # type: ignore[misc]
        """``MsgPackSerializer`` that hands raw bytes to ``loads`` (aiocache #834)."""

        DEFAULT_ENCODING = None

        def loads(self, value: bytes | None) -> Any:
            return None if value is None else msgpack.unpackb(value, raw=False)


def make_aiocache(url: str, namespace: str) -> Any:
    """An aiocache ``RedisCache`` on the server of ``url`` (host, port, db, password), under ``namespace``."""
    if RedisCache is None:
        raise RuntimeError("aiocache is not installed: pip install 'agent-cache[bench]'")
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return RedisCache(
        serializer=DictMsgPackSerializer(),
        endpoint=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        db=db,
        password=parts.password,
        namespace=namespace,
    )
