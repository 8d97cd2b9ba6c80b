"""The typed transport boundary holds: only the client factory asks which kind of client it holds.

Every other module of the Redis provider talks through ``transport.SyncTransport`` /
``AsyncTransport`` and lets the transport built for the mode carry the differences, so none of
them may test a client, transport or pool for its type (issue 10.4). A static check of the source:
it parses the modules, imports nothing and needs no server.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import src.infrastructure.cache.providers.redis as redis_provider_package

PACKAGE = Path(redis_provider_package.__file__).parent
#: The one module that decides, from ``mode``, which transport to build.
FACTORY = "client_factory.py"
#: What a type test on a client looks like: redis-py's clients and pools, and our transports.
CLIENT_TYPES = re.compile(r"Redis\b|Cluster|Sentinel|Transport|Pool|Client|Pipeline")


def type_tests(source: str) -> list[str]:
    """Every ``isinstance``/``issubclass`` of ``source`` whose classes name a client type."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"isinstance", "issubclass"}
            and len(node.args) == 2
            and CLIENT_TYPES.search(ast.unparse(node.args[1]))
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_but_the_factory_asks_which_kind_of_client_it_holds() -> None:
    modules = sorted(path for path in PACKAGE.glob("*.py") if path.name != FACTORY)
    assert len(modules) > 10  # the package was found
    offenders = {
        path.name: found for path in modules if (found := type_tests(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "move the mode's difference into its transport (transport.py)"


def test_the_check_sees_a_type_test_on_a_client() -> None:
    assert type_tests("if isinstance(client, ClusterClient): pass") == [
        "line 1: isinstance(client, ClusterClient)"
    ]
    assert type_tests("ok = isinstance(pool, redis.Redis | BlockingPool)")
    assert type_tests("if isinstance(exc, NoPermissionError): pass") == []  # errors are not clients
