"""Typed, validated configuration of agent-cache: one frozen object per provider.

Parsed once at start-up from the ``cache:`` section of the YAML file (see
:mod:`src.infrastructure.cache.config.loader`). Providers receive these objects, never raw dicts.
Every error is a :class:`CacheConfigError` that names the key path and the bad value (masked for
secrets); nothing is silently replaced by a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from src.infrastructure.cache.config.sections import (
    bounded,
    build_section,
    display,
    key_path,
    secret,
    url_with_secret,
)
from src.infrastructure.cache.config.urls import check_redis_url, url_database
from src.infrastructure.cache.validation import MAX_TTL
from src.interfaces.llm.cache import CacheConfigError

ROOT = "cache"
#: The largest ``max_value_bytes``: what Redis accepts as one string by default. A larger value
#: would be refused by the server inside a batch, failing the other callers' writes with it.
MAX_VALUE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class BaseCacheConfig:
    """Settings every provider has."""

    enabled: bool = True
    #: Seconds an entry lives when ``set`` is given no TTL; 0 means entries never expire. At most
    #: ``MAX_TTL`` (about 317 years), the bound every provider applies to a TTL given to ``set``.
    default_ttl: float = field(default=3600.0, metadata=bounded(0, MAX_TTL))
    #: Largest serialized value accepted, in bytes; a larger one raises and writes nothing. At most
    #: 512 MiB, the largest string Redis stores by default (``proto-max-bulk-len``).
    max_value_bytes: int = field(default=1_048_576, metadata=bounded(1, MAX_VALUE_BYTES))


@dataclass(frozen=True)
class MemoryCacheConfig(BaseCacheConfig):
    """The in-process TTL + LRU provider."""

    #: Most entries kept; the least recently used is evicted beyond it.
    max_size: int = field(default=10_000, metadata=bounded(1))
    #: Store a msgpack copy of each value (the default): values behave exactly as on Redis and are
    #: isolated from later mutation. ``false`` stores references, for trusted hot paths only.
    serialize_values: bool = True


@dataclass(frozen=True)
class ConnectionPoolConfig:
    """Size of each connection pool, and how long a caller waits for a free connection."""

    max_connections: int = field(default=50, metadata=bounded(1, 100_000))
    timeout: float = field(default=2.0, metadata=bounded(0, 3600))


@dataclass(frozen=True)
class CircuitBreakerConfig:
    """When to stop calling a failing backend, and how often to probe it again."""

    #: Consecutive failed calls that open the circuit (a failed write opens it at once).
    failure_threshold: int = field(default=3, metadata=bounded(1, 1000))
    #: Seconds the circuit stays open before one caller probes the backend again.
    open_interval: float = field(default=5.0, metadata=bounded(0.01, 3600))


@dataclass(frozen=True)
class RedisCacheConfig(BaseCacheConfig):
    """The shared Redis provider. Names follow redis-py's own where one exists."""

    enabled: bool = False
    #: ``redis://``, ``rediss://`` or ``unix://`` URL, its password percent-encoded; when set it
    #: replaces host, port, db, username and password.
    url: str | None = field(default=None, repr=False, metadata=url_with_secret(check_redis_url))
    host: str = "localhost"
    port: int = field(default=6379, metadata=bounded(1, 65535))
    db: int = field(default=0, metadata=bounded(0))
    username: str | None = None
    password: str | None = field(default=None, repr=False, metadata=secret())
    #: ``standalone``: one server (host/port or url). ``cluster``: a Redis Cluster, discovered from
    #: ``startup_nodes`` or from the node ``url`` names. ``sentinel``: the master that the
    #: ``sentinels`` know as ``service_name``, followed across failovers.
    mode: Literal["standalone", "cluster", "sentinel"] = "standalone"
    #: Cluster nodes to discover the cluster from, as ``"host:port"``; one reachable node is enough.
    startup_nodes: tuple[str, ...] = ()
    #: Sentinels as ``"host:port"``, and the name they monitor the master under.
    sentinels: tuple[str, ...] = ()
    service_name: str | None = None
    #: Credentials of the sentinels themselves; ``username``/``password`` are the data nodes'.
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False, metadata=secret())
    #: Wrap the prefix in a hash tag (``agent:cache:`` becomes ``{agent:cache}:``): the whole
    #: namespace then lives in one cluster slot, so on one node (its memory and CPU only).
    hash_tag: bool = False
    ssl: bool = False
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_cert_reqs: Literal["required", "optional", "none"] = "required"
    socket_timeout: float = field(default=1.0, metadata=bounded(0.001, 3600))
    socket_connect_timeout: float = field(default=1.0, metadata=bounded(0.001, 3600))
    retry_on_timeout: bool = True
    #: Retries after a failed attempt (connection error, and timeout if ``retry_on_timeout``).
    retries: int = field(default=1, metadata=bounded(0, 10))
    retry_backoff_base: float = field(default=0.008, metadata=bounded(0, 10))
    retry_backoff_cap: float = field(default=0.1, metadata=bounded(0, 60))
    #: Seconds a connection may sit idle before it is checked with a PING; 0 (the default) turns the
    #: check off. Off because redis-py runs that PING, with its own retries, inside the connect
    #: retries: a positive value lets a call to a hung server take (retries + 1)² socket timeouts
    #: instead of (retries + 1). A dead pooled connection is replaced by the retry anyway.
    health_check_interval: float = field(default=0.0, metadata=bounded(0))
    connection_pool: ConnectionPoolConfig = field(default_factory=ConnectionPoolConfig)
    #: Every key is stored as ``key_prefix + key``; ``clear()`` touches only this namespace.
    key_prefix: str = "agent:cache:"
    #: Required to use an empty ``key_prefix``: ``clear()`` then removes every key of the database.
    owns_database: bool = False
    #: What callers see while Redis is unavailable: ``raise`` CacheUnavailableError, serve from the
    #: ``fallback`` provider, or ``ignore`` (reads miss, writes are dropped).
    on_error: Literal["raise", "fallback", "ignore"] = "fallback"
    #: Provider whose settings build the private fallback instance (never the shared named one).
    fallback_provider: str = "memory"
    circuit_breaker: CircuitBreakerConfig = field(default_factory=CircuitBreakerConfig)
    #: Keys invalidated during an outage that are remembered one by one; beyond, recovery clears
    #: the whole namespace instead.
    max_pending_invalidations: int = field(default=100_000, metadata=bounded(1))

    def __post_init__(self) -> None:
        self._check_url()
        if not self.key_prefix and not self.owns_database:
            raise CacheConfigError(
                "key_prefix is empty, so clear() would delete every key of the database; set a prefix "
                "such as 'agent:cache:', or set owns_database: true if this provider owns the database"
            )
        self._check_topology()

    def _check_url(self) -> None:
        """The URL again, for a config built in code (``from_mapping`` checked it with its key path):
        a URL redis-py misreads must never reach it, where its errors quote pieces of the password."""
        try:
            if self.url:
                check_redis_url(self.url)
        except ValueError as exc:
            raise CacheConfigError(f"url: {exc}") from None

    def _check_topology(self) -> None:
        """Settings that ``mode`` requires or forbids; messages start with the key they are about."""
        if self.mode == "cluster":
            if not (self.startup_nodes or self.url):
                raise CacheConfigError(
                    "startup_nodes: mode 'cluster' needs startup_nodes or a url naming a node"
                )
            if self.db:
                raise CacheConfigError(
                    f"db: must be 0 with mode 'cluster' (a cluster has only database 0), got {self.db}"
                )
            if self.url and self.url.startswith("unix://"):
                raise CacheConfigError("url: mode 'cluster' needs a redis:// or rediss:// url naming a node")
            if self.url and url_database(self.url):
                raise CacheConfigError(
                    f"url: names database {url_database(self.url)}; a cluster has only database 0"
                )
        if self.mode == "sentinel":
            if not self.sentinels:
                raise CacheConfigError(
                    "sentinels: mode 'sentinel' needs the sentinels' 'host:port' addresses"
                )
            if not self.service_name:
                raise CacheConfigError("service_name: mode 'sentinel' needs the name the sentinels monitor")
            if self.url:
                raise CacheConfigError(
                    "url: not used with mode 'sentinel', where the sentinels name the master; "
                    "set username, password, db and ssl instead"
                )
        for name in ("startup_nodes", "sentinels"):
            for index, text in enumerate(getattr(self, name)):
                try:
                    parse_address(text)
                except ValueError as exc:
                    raise CacheConfigError(f"{name}[{index}]: {exc}") from None
        if self.hash_tag and (not self.key_prefix or "{" in self.key_prefix or "}" in self.key_prefix):
            raise CacheConfigError(
                f"hash_tag: needs a non-empty key_prefix without '{{' or '}}', got {self.key_prefix!r}"
            )


def parse_address(text: str) -> tuple[str, int]:
    """``(host, port)`` of a ``"host:port"`` string (``"[::1]:7000"`` for IPv6); ``ValueError`` if not one."""
    host, colon, port = text.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected 'host:port', got {text!r}")
    return host, int(port)


#: Config class of each provider name that may appear under ``cache.providers``.
PROVIDER_CONFIG_TYPES: dict[str, type[BaseCacheConfig]] = {
    "memory": MemoryCacheConfig,
    "redis": RedisCacheConfig,
}


@dataclass(frozen=True)
class CacheConfig:
    """The whole ``cache:`` section: which providers exist and which is the default."""

    default_provider: str
    providers: Mapping[str, BaseCacheConfig]
    #: Where this configuration was read from, for people (a path, or the packaged defaults).
    source: str = field(default="<mapping>", compare=False)

    @property
    def enabled_providers(self) -> dict[str, BaseCacheConfig]:
        """The providers to register, by name, in configuration order."""
        return {name: config for name, config in self.providers.items() if config.enabled}

    @classmethod
    def from_mapping(cls, section: Any, source: str = "<mapping>") -> CacheConfig:
        """Validate the parsed ``cache:`` section; raise :class:`CacheConfigError` naming the key path."""
        if section is None:
            section = {}
        if not isinstance(section, Mapping):
            raise CacheConfigError(f"{ROOT}: expected a mapping, got {type(section).__name__}")
        unknown = set(section) - {"default_provider", "providers"}
        if unknown:
            raise CacheConfigError(
                f"{key_path(ROOT, sorted(unknown, key=str)[0])}: unknown setting "
                "(known: default_provider, providers)"
            )
        raw_providers = section.get("providers") or {}
        if not isinstance(raw_providers, Mapping):
            raise CacheConfigError(f"{ROOT}.providers: expected a mapping of provider name to settings")
        providers: dict[str, BaseCacheConfig] = {}
        for name, data in raw_providers.items():
            config_type = PROVIDER_CONFIG_TYPES.get(name)
            if config_type is None:
                raise CacheConfigError(
                    f"{key_path(f'{ROOT}.providers', name)}: unknown provider "
                    f"(known: {', '.join(PROVIDER_CONFIG_TYPES)})"
                )
            providers[name] = build_section(config_type, data, f"{ROOT}.providers.{name}")
        for name, config_type in PROVIDER_CONFIG_TYPES.items():
            providers.setdefault(name, config_type())
        for name, config in providers.items():
            fallback = getattr(config, "fallback_provider", None)
            if fallback is not None and (fallback == name or fallback not in PROVIDER_CONFIG_TYPES):
                raise CacheConfigError(
                    f"{ROOT}.providers.{name}.fallback_provider: {fallback!r} cannot serve as the fallback; "
                    f"choose another provider ({', '.join(n for n in PROVIDER_CONFIG_TYPES if n != name)})"
                )
        default = section.get("default_provider", "memory")
        enabled = [name for name, config in providers.items() if config.enabled]
        if not isinstance(default, str):  # a list or mapping cannot even be looked up by name
            raise CacheConfigError(
                f"{ROOT}.default_provider: expected a provider name, got {type(default).__name__}; "
                f"enabled providers: {', '.join(enabled) or '(none)'}"
            )
        if default not in enabled:
            state = "is disabled" if default in providers else "is not a provider"
            raise CacheConfigError(
                f"{ROOT}.default_provider: {default!r} {state}; enabled providers: "
                f"{', '.join(enabled) or '(none)'}"
            )
        return cls(default_provider=default, providers=providers, source=source)

    def display(self) -> dict[str, Any]:
        """The resolved configuration as plain data, secrets masked: safe to print or log."""
        return {
            "default_provider": self.default_provider,
            "providers": {name: display(config) for name, config in self.providers.items()},
        }
