"""Without an OpenTelemetry SDK, or without OpenTelemetry at all, agent-cache imports and runs unchanged.

Each case runs in a fresh interpreter whose import system hides the packages, as if they were not
installed (a finder first on ``sys.meta_path`` refuses them), builds the container's caches, memory
and Redis, and drives them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from tests.redis_servers import RedisEndpoint

pytestmark = pytest.mark.redis

SCRIPT = textwrap.dedent(
    """
    import json, sys

    HIDDEN = tuple(sys.argv[1].split(",")) if sys.argv[1] else ()

    class Hide:
        def find_spec(self, name, path=None, target=None):
            if any(name == hidden or name.startswith(hidden + ".") for hidden in HIDDEN):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Hide())

    from dependency_injector import providers
    from src.infrastructure.cache.config.cache_config import CacheConfig, MemoryCacheConfig
    from src.infrastructure.cache.config.cache_config import RedisCacheConfig
    from src.infrastructure.cache.metrics import observed_names
    from src.interfaces.llm.cache import ICacheProvider
    from src.services.container import ApplicationContainer

    redis = RedisCacheConfig(enabled=True, url=sys.argv[2], key_prefix=sys.argv[3])
    config = CacheConfig("memory", {"memory": MemoryCacheConfig(), "redis": redis})
    container = ApplicationContainer(config=providers.Object(config))
    report = {}
    for name in ("memory", "redis"):
        cache = container.resolver().get_named(ICacheProvider, name)
        cache.set("k", {"v": 1})
        value = cache.get("k")
        computed = cache.get_or_set("c", lambda: 7)
        cache.delete_many(["k", "c"])
        stats = cache.get_stats()
        report[name] = {
            "type": type(cache).__name__,
            "value": value,
            "computed": computed,
            "counts": [stats["hits"], stats["sets"], stats["compute"]["computes"]],
        }
    report["observed"] = observed_names()
    report["modules"] = sorted({m.split(".")[1] for m in sys.modules if m.startswith("opentelemetry.")})
    container.shutdown_resources()
    print(json.dumps(report))
    """
)


def run_hiding(hidden: str, redis_endpoint: RedisEndpoint, prefix: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, hidden, redis_endpoint.url, prefix],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def assert_runs_unchanged(report: dict[str, Any]) -> None:
    assert report["memory"] == {
        "type": "MemoryCacheProvider",
        "value": {"v": 1},
        "computed": 7,
        "counts": [1, 2, 1],
    }
    assert report["redis"]["type"] == "ResilientCacheProvider"  # as before: no metrics wrapper
    assert (report["redis"]["value"], report["redis"]["computed"]) == ({"v": 1}, 7)


def test_with_the_api_but_no_sdk_caches_are_not_wrapped_but_observed(
    redis_endpoint: RedisEndpoint, unique_prefix: str
) -> None:
    report = run_hiding("opentelemetry.sdk,opentelemetry.exporter", redis_endpoint, unique_prefix)

    assert_runs_unchanged(report)
    assert report["observed"] == ["memory", "redis"]  # an SDK set later would export their counters
    assert "sdk" not in report["modules"]


def test_without_opentelemetry_at_all_nothing_of_it_is_imported(
    redis_endpoint: RedisEndpoint, unique_prefix: str
) -> None:
    report = run_hiding("opentelemetry", redis_endpoint, unique_prefix)

    assert_runs_unchanged(report)
    assert report["observed"] == []
    assert report["modules"] == []


@pytest.fixture
def unique_prefix() -> str:
    from tests.conftest import unique_prefix

    return unique_prefix()
