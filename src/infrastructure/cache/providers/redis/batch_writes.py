"""Writing many entries in one command: a Lua script of ``SET ... PX``, one per entry.

redis-py spends ~7 µs of client CPU per command of a pipeline (a Python object, a callback and a
parse per reply), so a pipeline of 100 SETs is only ~4x faster per key than 100 round trips. One
``EVALSHA`` carrying every entry is one request and one reply, packed by hiredis: ~2 µs per key,
most of it the server running the SETs. Each entry is still written with its TTL in a single
``SET ... PX`` (a value never exists without its expiry). The script runs atomically; it is loaded
on first use, and redis-py's ``Script`` loads it again after ``NOSCRIPT`` (a restarted server).

Where scripts are refused (an ACL without ``+@scripting``, ``EVALSHA`` renamed away) the writer
falls back, for its lifetime (its transport's, so for every cache sharing that transport), to a
non-transactional pipeline of SETs. Any other error reply (``OOM`` from a full server,
``READONLY``, ...) reaches the caller and leaves scripts on.
The writers serve one server (``server_transport``); a cluster's transport writes its batches as
its own pipeline (the keys of one batch span hash slots, which a script cannot).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import redis
import redis.asyncio
from redis.commands.core import AsyncScript, Script
from redis.exceptions import NoPermissionError, ResponseError

logger = logging.getLogger(__name__)

#: One entry to write: Redis key, payload, TTL in milliseconds (None: no expiry).
Entry = tuple[bytes, bytes, int | None]

#: Entries per script call: a call holds the server for ~1.5 µs per entry, so a huge batch is cut
#: into calls that other clients' commands can run between.
MAX_ENTRIES_PER_CALL = 1000

# Two layouts of ARGV, told apart by ARGV[1]:
#   a TTL in ms ('0': no expiry) shared by every key: ARGV[i + 1] is the payload of KEYS[i];
#   '' (each key its own TTL): ARGV[2i] is the payload of KEYS[i], ARGV[2i + 1] its TTL.
SET_ENTRIES = """
local px = ARGV[1]
if px == '' then
  for i = 1, #KEYS do
    local own = ARGV[2 * i + 1]
    if own == '0' then
      redis.call('SET', KEYS[i], ARGV[2 * i])
    else
      redis.call('SET', KEYS[i], ARGV[2 * i], 'PX', own)
    end
  end
elseif px == '0' then
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], ARGV[i + 1])
  end
else
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', px)
  end
end
return #KEYS
"""

# The replies that refuse scripting itself, as Redis 7 words them (redis-py strips the ERR/NOPERM
# code): ``unknown command 'EVALSHA', with args beginning with: ...`` (renamed away; older servers
# quote with backticks), ``this user has no permissions to run the 'evalsha' command`` (an ACL
# without +@scripting; also 'eval' and 'script|load', which redis-py's Script sends after NOSCRIPT),
# and ``This Redis command is not allowed from script`` (a server whose scripts may not run SET).
# Nothing looser: "OOM command not allowed when used memory > 'maxmemory'. script: ..." also says
# "not allowed" and "script", and a full server is a real error that must not end the scripts.
_UNKNOWN_SCRIPT_COMMAND = re.compile(r"^unknown command [`']?(evalsha|eval|script)\b", re.IGNORECASE)
_DENIED_SCRIPT_COMMAND = re.compile(r"permissions to run the '(evalsha|eval|script)\b", re.IGNORECASE)
_NOT_FROM_SCRIPTS = "command is not allowed from script"

#: One script call: its KEYS and its ARGV.
_Call = tuple[list[bytes], list[bytes | int | str]]


def script_calls(names: Sequence[bytes], payloads: Sequence[bytes], pxs: Sequence[int | None]) -> list[_Call]:
    """The script calls that write ``names[i] = payloads[i]`` with TTL ``pxs[i]`` (ms, None: none)."""
    step = MAX_ENTRIES_PER_CALL
    calls: list[_Call] = []
    for start in range(0, len(names), step):
        keys = list(names[start : start + step])
        values, ttls = payloads[start : start + step], pxs[start : start + step]
        if ttls.count(ttls[0]) == len(ttls):  # one TTL for all: the short layout
            calls.append((keys, [ttls[0] or 0, *values]))
        else:
            args: list[bytes | int | str] = [""]
            for payload, px in zip(values, ttls, strict=True):
                args += (payload, px or 0)
            calls.append((keys, args))
    return calls


def _refused(exc: ResponseError) -> bool:
    """True if the server refuses Lua scripting to us (module comment above), so that batches must
    go as pipelines; False for every other error reply, which reaches the caller."""
    message = str(exc)
    if isinstance(exc, NoPermissionError):  # refused the command, not access to one of our keys
        return bool(_DENIED_SCRIPT_COMMAND.search(message))
    return bool(_UNKNOWN_SCRIPT_COMMAND.match(message)) or _NOT_FROM_SCRIPTS in message


def _refusal_logged(exc: ResponseError) -> None:
    logger.warning("redis cache: Lua scripts refused (%s); batches are written as pipelines of SETs", exc)


class BatchWriter:
    """Writes entries through one server's sync client, as script calls (see the module's docstring)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._script: Script | None = client.register_script(SET_ENTRIES)  # None once refused

    def write(self, names: Sequence[bytes], payloads: Sequence[bytes], pxs: Sequence[int | None]) -> None:
        """Write every entry; raise the client's error if the server refuses or cannot be reached."""
        if self._script is not None:
            try:
                for keys, args in script_calls(names, payloads, pxs):
                    self._script(keys=keys, args=args)
                return
            except ResponseError as exc:
                if not _refused(exc):
                    raise
                _refusal_logged(exc)
                self._script = None
        with self._client.pipeline(transaction=False) as pipe:
            for name, payload, px in zip(names, payloads, pxs, strict=True):
                pipe.set(name, payload, px=px)
            pipe.execute()


class AsyncBatchWriter:
    """Async twin of :class:`BatchWriter`, for one event loop's client."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._script: AsyncScript | None = client.register_script(SET_ENTRIES)

    async def write(
        self, names: Sequence[bytes], payloads: Sequence[bytes], pxs: Sequence[int | None]
    ) -> None:
        """Async twin of :meth:`BatchWriter.write`."""
        if self._script is not None:
            try:
                for keys, args in script_calls(names, payloads, pxs):
                    await self._script(keys=keys, args=args)
                return
            except ResponseError as exc:
                if not _refused(exc):
                    raise
                _refusal_logged(exc)
                self._script = None
        async with self._client.pipeline(transaction=False) as pipe:
            for name, payload, px in zip(names, payloads, pxs, strict=True):
                pipe.set(name, payload, px=px)
            await pipe.execute()
