"""The named caches of ``cache.providers``: each one's type and typed settings, and the rules
between them (a fallback names a memory cache; Redis namespaces on one database do not overlap).

Each entry is a cache: ``cache.providers.<name>`` with ``type: memory | redis``. Without ``type``
the name is the type, so the entries ``memory`` and ``redis`` need none. Any number of caches of
either type may exist, each with its own settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from src.infrastructure.cache.config.base_config import BaseCacheConfig, MemoryCacheConfig, RemoteCacheConfig
from src.infrastructure.cache.config.redis_config import RedisCacheConfig
from src.infrastructure.cache.config.sections import (
    SettingError,
    build_section,
    did_you_mean,
    is_name,
    key_path,
)

#: Config class of each provider type, the value of a cache's ``type:``.
PROVIDER_CONFIG_TYPES: dict[str, type[BaseCacheConfig]] = {
    MemoryCacheConfig.type_name: MemoryCacheConfig,
    RedisCacheConfig.type_name: RedisCacheConfig,
}
#: Caches that exist, with their type's defaults, when the file does not name them: ``memory`` is
#: the default ``default_provider`` and ``fallback_provider``; ``redis`` (disabled by default) is
#: what ``AGENT_CACHE_REDIS_*`` configure in the shipped file.
IMPLICIT_CACHES = ("memory", "redis")
TYPE_KEY = "type"


def parse_caches(raw: Any, path: str) -> dict[str, BaseCacheConfig]:
    """Every cache under ``path`` (``cache.providers``) by name, in file order, then the implicit
    ones the file does not name. Raises :class:`SettingError` naming the cache and setting."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise SettingError(path, f"expected a mapping of cache name to settings, got {type(raw).__name__}")
    caches = {name: _parse_cache(name, data, path) for name, data in raw.items()}
    for name in IMPLICIT_CACHES:
        caches.setdefault(name, PROVIDER_CONFIG_TYPES[name]())
    for name, config in caches.items():
        if isinstance(config, RemoteCacheConfig):
            _check_fallback(name, config, caches, path)
    _check_namespaces(caches, path)
    return caches


def _parse_cache(name: Any, data: Any, path: str) -> BaseCacheConfig:
    cache_path = key_path(path, name)
    if not is_name(name):  # it is a registration name; and a key that is not a name is never shown
        raise SettingError(
            cache_path, "unknown setting: a cache name is letters, digits, '_' and '-', after a letter"
        )
    config_type = PROVIDER_CONFIG_TYPES[_type_of(name, data, cache_path)]
    if name not in IMPLICIT_CACHES and isinstance(data, Mapping) and "enabled" not in data:
        # Declaring a cache of one's own is enabling it. Only the implicit entries keep their
        # type's default (``redis`` disabled), so configurations written before named caches
        # load unchanged.
        data = {**data, "enabled": True}
    return build_section(config_type, data, cache_path, also_known=(TYPE_KEY,))


def _type_of(name: str, data: Any, cache_path: str) -> str:
    """The cache's ``type``, or its name when it sets none; :class:`SettingError` if not a type."""
    given = data.get(TYPE_KEY) if isinstance(data, Mapping) else None
    if given is None:
        return _type_from_name(name, data, cache_path)
    text = given.strip().lower() if isinstance(given, str) else given
    if text not in PROVIDER_CONFIG_TYPES:
        raise SettingError(
            f"{cache_path}.{TYPE_KEY}",
            f"expected one of {', '.join(PROVIDER_CONFIG_TYPES)}, got {given!r}"
            f"{did_you_mean(text, PROVIDER_CONFIG_TYPES)}",
        )
    return str(text)


def _type_from_name(name: str, data: Any, cache_path: str) -> str:
    if name in PROVIDER_CONFIG_TYPES:
        return name
    for key in data if isinstance(data, Mapping) else ():
        if did_you_mean(key, [TYPE_KEY]):  # the type was given, under a misspelt key
            raise SettingError(key_path(cache_path, key), f"unknown setting; did you mean '{TYPE_KEY}'?")
    raise SettingError(
        cache_path,
        f"unknown provider (known: {', '.join(PROVIDER_CONFIG_TYPES)})"
        f"{did_you_mean(name, PROVIDER_CONFIG_TYPES)}; a cache without '{TYPE_KEY}:' is of the type "
        f"its name says: to name a cache freely, give it one ({TYPE_KEY}: memory or {TYPE_KEY}: redis)",
    )


def _check_fallback(
    name: str, config: RemoteCacheConfig, caches: Mapping[str, BaseCacheConfig], path: str
) -> None:
    """``fallback_provider`` must name a memory cache: its settings build the private fallback."""
    fallback = config.fallback_provider
    memory_caches = [other for other, settings in caches.items() if isinstance(settings, MemoryCacheConfig)]
    if fallback in memory_caches:
        return
    if fallback in caches:
        why = f"it is a {caches[fallback].type_name} cache, and a fallback must be a memory cache"
    else:
        why = f"no cache has that name{did_you_mean(fallback, memory_caches)}"
    choices = ", ".join(memory_caches) or "(none)"
    raise SettingError(
        f"{path}.{name}.fallback_provider",
        f"{fallback!r} cannot serve as the fallback ({why}); memory caches: {choices}",
    )


def _check_namespaces(caches: Mapping[str, BaseCacheConfig], path: str) -> None:
    """No two enabled Redis caches store into the same database under overlapping prefixes.

    Overlapping means equal, or one a prefix of the other: ``clear()`` of ``agent:`` sweeps
    ``agent:*``, which holds every key of ``agent:llm:``, and a key ``llm:x`` of the first *is* the
    key ``x`` of the second. Disabled caches are not built, so they cannot collide.
    """
    seen: list[tuple[str, RedisCacheConfig]] = []
    for name, config in caches.items():
        if not (isinstance(config, RedisCacheConfig) and config.enabled):
            continue
        for other_name, other in seen:
            if _share_keys(config, other):
                raise SettingError(f"{path}.{name}.key_prefix", _overlap_problem(config, other_name, other))
        seen.append((name, config))


def _share_keys(first: RedisCacheConfig, second: RedisCacheConfig) -> bool:
    """True if the two caches store into one database and one's namespace contains the other's."""
    if first.database != second.database or not first.endpoints() & second.endpoints():
        return False
    one, two = first.namespace_prefix, second.namespace_prefix
    return one.startswith(two) or two.startswith(one)


def _overlap_problem(config: RedisCacheConfig, other_name: str, other: RedisCacheConfig) -> str:
    relation = "is the same as" if config.namespace_prefix == other.namespace_prefix else "overlaps"
    return (
        f"the namespace {config.namespace_prefix!r} {relation} {other.namespace_prefix!r} of cache "
        f"'{other_name}', on the same server and database {config.database}: each would read, overwrite "
        "and clear() the other's keys; give each cache its own key_prefix, none the beginning of another"
    )
