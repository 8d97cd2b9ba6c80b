"""The container: named resolution, default chosen by configuration, ownership of providers."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from src.infrastructure.cache.base import CacheProviderBase
from src.infrastructure.cache.config.loader import load_cache_config
from src.interfaces.container.resolver import ServiceNotRegisteredError
from src.interfaces.llm.cache import CacheConfigError, ICacheProvider
from src.services.container import create_container
from src.services.container.bindings import cache_bindings


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "global.yaml"
    path.write_text(text)
    return path


def test_default_resolves_to_the_memory_provider(tmp_path: Path) -> None:
    container = create_container(config_file(tmp_path, "cache: {}\n"))
    resolver = container.resolver()
    cache = resolver.get(ICacheProvider)
    assert isinstance(cache, ICacheProvider)
    assert cache.name == "memory"
    assert resolver.get_named(ICacheProvider, "memory") is cache
    assert resolver.names(ICacheProvider) == ["memory"]


def test_providers_are_singletons_per_container(tmp_path: Path) -> None:
    path = config_file(tmp_path, "cache: {}\n")
    first, second = create_container(path), create_container(path)
    assert first.resolver().get(ICacheProvider) is first.resolver().get(ICacheProvider)
    assert first.resolver().get(ICacheProvider) is not second.resolver().get(ICacheProvider)


def test_settings_reach_the_provider(tmp_path: Path) -> None:
    container = create_container(
        config_file(tmp_path, "cache:\n  providers:\n    memory:\n      max_size: 3\n")
    )
    cache = container.resolver().get(ICacheProvider)
    cache.set_many({str(i): i for i in range(5)})
    assert cache.get_size() == 3


def test_unknown_name_lists_the_registered_ones(tmp_path: Path) -> None:
    resolver = create_container(config_file(tmp_path, "cache: {}\n")).resolver()
    with pytest.raises(ServiceNotRegisteredError, match=r"'redis' is registered; registered: memory"):
        resolver.get_named(ICacheProvider, "redis")
    assert resolver.try_get_named(ICacheProvider, "redis") is None
    assert resolver.try_get_named(ICacheProvider, "memory") is resolver.get(ICacheProvider)


def test_unregistered_interface_is_a_clear_error(tmp_path: Path) -> None:
    resolver = create_container(config_file(tmp_path, "cache: {}\n")).resolver()
    with pytest.raises(ServiceNotRegisteredError, match="nothing is registered for Path"):
        resolver.get(Path)
    assert resolver.try_get_named(Path, "x") is None
    assert resolver.names(Path) == []


def test_disabled_provider_is_absent_and_never_built(tmp_path: Path) -> None:
    container = create_container(
        config_file(
            tmp_path,
            "cache:\n  default_provider: redis\n"
            "  providers:\n    redis: {enabled: true}\n    memory: {enabled: false}\n",
        )
    )
    resolver = container.resolver()
    assert resolver.names(ICacheProvider) == ["redis"]
    assert resolver.try_get_named(ICacheProvider, "memory") is None
    bindings: Any = container.cache
    assert "memory" not in bindings.caches().built()


def test_memory_only_deployment_never_builds_redis(tmp_path: Path) -> None:
    container = create_container(config_file(tmp_path, "cache: {}\n"))
    container.resolver().get(ICacheProvider).set("k", 1)
    bindings: Any = container.cache
    assert bindings.caches().built() == ["memory"]


def test_default_switched_by_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        'cache:\n  default_provider: "${MY_DEFAULT:memory}"\n  providers:\n    redis: {enabled: true}\n',
    )
    monkeypatch.setenv("MY_DEFAULT", "redis")
    resolver = create_container(path).resolver()
    assert resolver.names(ICacheProvider) == ["redis", "memory"]  # configuration order
    assert resolver.get(ICacheProvider) is resolver.get_named(ICacheProvider, "redis")


def test_config_path_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = config_file(tmp_path, "cache:\n  providers:\n    memory: {max_size: 1}\n")
    monkeypatch.setenv("AGENT_CACHE_CONFIG", str(path))
    cache = create_container().resolver().get(ICacheProvider)
    cache.set_many({"a": 1, "b": 2})
    assert cache.get_size() == 1


def test_invalid_configuration_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(CacheConfigError, match=r"cache\.default_provider: 'redis' is disabled"):
        create_container(config_file(tmp_path, "cache:\n  default_provider: redis\n"))


def test_shutdown_closes_the_providers_it_built(tmp_path: Path) -> None:
    container = create_container(config_file(tmp_path, "cache: {}\n"))
    cache = container.resolver().get(ICacheProvider)
    cache.set("k", 1)
    container.shutdown_resources()
    assert cache.get_size() == 0  # the memory provider drops its entries on close
    assert container.resolver().get(ICacheProvider) is not cache  # a new one after shutdown


def test_providers_do_not_import_the_di_library() -> None:
    root = Path(__file__).parents[2] / "src"
    for folder in ("interfaces", "infrastructure"):
        for path in (root / folder).rglob("*.py"):
            assert "dependency_injector" not in path.read_text(), path


def test_closing_the_caches_in_the_middle_of_a_build_does_not_deadlock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the garbage collector does to a dropped container while a cache is being built on the
    same thread: the container's resource is finalised, which closes its caches. (Seen in
    ``test_default_switched_by_environment_variable``, which keeps a resolver and drops its container.)"""
    caches = cache_bindings.NamedCaches(load_cache_config(config_file(tmp_path, "cache: {}\n")))
    real_build = cache_bindings.build_cache

    def build_then_get_closed(*args: Any) -> CacheProviderBase:
        caches.close()  # as the finaliser would, mid-build, on this thread
        return real_build(*args)

    monkeypatch.setattr(cache_bindings, "build_cache", build_then_get_closed)
    finished = threading.Event()

    def resolve() -> None:
        caches.get("memory")
        finished.set()

    worker = threading.Thread(target=resolve, daemon=True)
    worker.start()
    assert finished.wait(5), "NamedCaches.close() deadlocked against a build on its own thread"
