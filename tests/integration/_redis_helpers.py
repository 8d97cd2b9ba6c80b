"""Helpers shared by the Redis integration tests: watching the commands a provider sends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from tests.redis_servers import RedisEndpoint, free_port


@contextmanager
def monitored(endpoint: RedisEndpoint) -> Iterator[list[str]]:
    """Collect, as MONITOR prints them, the commands the server runs inside the ``with`` block.

    The list is filled when the block exits: an ECHO of a unique marker ends the recording.
    """
    client = endpoint.client()
    commands: list[str] = []
    marker = f"end-of-recording-{uuid.uuid4().hex}"
    try:
        with client.monitor() as monitor:  # type: ignore[no-untyped-call]
            yield commands
            client.echo(marker)
            while marker not in (command := monitor.next_command()["command"]):
                commands.append(command)
    finally:
        client.close()


def with_credentials(url: str, username: str, password: str) -> str:
    """``url`` with its user and password replaced."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{username}:{password}@{host}"))


def unreachable_url() -> str:
    """A URL of a loopback port nothing listens on: connecting is refused at once."""
    return f"redis://127.0.0.1:{free_port()}/0"
