"""Two providers on one database: each sees, counts and clears only its own prefix."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from src.infrastructure.cache.providers.redis.keyspace import escape_glob
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from tests.conftest import unique_prefix
from tests.redis_servers import RedisEndpoint

pytestmark = pytest.mark.redis

MakeRedis = Callable[..., RedisCacheProvider]

# Each pair would leak into each other if the glob characters of the first were not escaped
# ("t*:" as a pattern matches "t1:..."; "t\:" matches "t:..."), or if a prefix were matched
# without its delimiter ("test" matches "testing").
PAIRS = [("t*:", "t1:"), ("t?:", "t1:"), ("t[1]:", "t1:"), ("t\\:", "t:"), ("test:", "testing:")]


@pytest.mark.parametrize(("mine", "theirs"), PAIRS + [(b, a) for a, b in PAIRS])
def test_prefixes_neither_see_nor_clear_each_other(
    make_redis_provider: MakeRedis, mine: str, theirs: str
) -> None:
    base = unique_prefix()
    a = make_redis_provider(key_prefix=base + mine)
    b = make_redis_provider(key_prefix=base + theirs)
    a.set_many({"shared": "a", "only-a": 1})
    b.set_many({"shared": "b", "only-b": 2, "x": 3})

    assert a.get_many(["shared", "only-a", "only-b", "x"]) == {"shared": "a", "only-a": 1}
    assert (a.get_size(), b.get_size()) == (2, 3)
    assert a.clear() == 2
    assert b.get_many(["shared", "only-b", "x"]) == {"shared": "b", "only-b": 2, "x": 3}
    assert b.clear() == 3


def test_clear_leaves_keys_of_other_programs_alone(
    redis_provider: RedisCacheProvider, redis_endpoint: RedisEndpoint
) -> None:
    raw = redis_endpoint.client()
    neighbour = unique_prefix()
    try:
        raw.set(f"{neighbour}precious", b"1")
        raw.set(redis_provider.config.key_prefix.rstrip(":"), b"the prefix without its delimiter")
        redis_provider.set_many({f"k{i}": i for i in range(1200)})  # three SCAN/UNLINK pages
        assert redis_provider.clear() == 1200
        assert raw.get(f"{neighbour}precious") == b"1"
        assert raw.exists(redis_provider.config.key_prefix.rstrip(":")) == 1
    finally:
        raw.delete(f"{neighbour}precious", redis_provider.config.key_prefix.rstrip(":"))
        raw.close()


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("agent:cache:", "agent:cache:"),
        ("a*b?c", "a\\*b\\?c"),
        ("[x]", "\\[x\\]"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_escape_glob(text: str, pattern: str) -> None:
    assert escape_glob(text) == pattern
