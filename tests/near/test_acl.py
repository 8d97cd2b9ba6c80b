"""The near cache under the ACL rule docs/operations.md recommends: RESP3 tracking needs nothing
more; RESP2 needs SUBSCRIBE on its channel, and without it the near cache stays off - said once,
reads from Redis."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from src.infrastructure.cache.config.cache_config import NearCacheConfig
from src.infrastructure.cache.resilience.resilient_provider import ResilientCacheProvider
from tests.conftest import unique_prefix
from tests.faults.conftest import fast_failing, wrapped
from tests.near.conftest import near, wait_for
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.redis

RECOMMENDED_RULE = "agent on >pw ~agent:* -@all +@read +@write +@connection +@scripting -@dangerous"
RESP2_EXTRA = "+client|id +client|tracking +subscribe &__redis__:invalidate"


@pytest.fixture
def acl_server() -> Iterator[RedisServer]:
    with RedisServer(
        users=[RECOMMENDED_RULE, f"agent2 on >pw ~agent:* {RECOMMENDED_RULE.split(' ', 3)[3]} {RESP2_EXTRA}"]
    ) as server:
        yield server


def _near(server: RedisServer, user: str, protocol: int) -> ResilientCacheProvider:
    url = f"redis://{user}:pw@{server.host}:{server.port}/0"
    near_cache = NearCacheConfig(enabled=True, protocol=protocol, ping_interval=0.1)
    return wrapped(fast_failing(url, key_prefix=f"agent:{unique_prefix()}", near_cache=near_cache))


def test_resp3_tracking_works_under_the_readme_rule(acl_server: RedisServer) -> None:
    cache = _near(acl_server, "agent", 3)
    cache.get("k")
    wait_for(lambda: near(cache)["serving"], 5.0, "serving")
    cache.close()


def test_resp2_without_subscribe_stays_off_says_so_once_and_reads_redis(
    acl_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    cache = _near(acl_server, "agent", 2)
    with caplog.at_level(logging.WARNING, logger="src.infrastructure.cache.near.listener"):
        cache.set("k", "v")
        for _ in range(3):
            assert cache.get("k") == "v"
            time.sleep(0.1)
        time.sleep(1.2)  # a few more attempts to turn tracking on
    assert not near(cache)["serving"]
    refusals = [
        record.getMessage() for record in caplog.records if "off, reads go to Redis" in record.getMessage()
    ]
    assert len(refusals) == 1
    assert "+subscribe &__redis__:invalidate" in refusals[0]
    cache.close()
    granted = _near(acl_server, "agent2", 2)
    granted.get("k")
    wait_for(lambda: near(granted)["serving"], 5.0, "serving with SUBSCRIBE granted")
    granted.close()
