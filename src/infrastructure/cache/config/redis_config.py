"""Settings of a Redis cache: where the server is, how to reach it, its namespace and failure policy.

Besides validating its settings, the config answers two questions the wiring asks about several
Redis caches at once: may two of them share one connection pool (:meth:`RedisCacheConfig.connection_key`)
and do two of them store into the same database (:meth:`RedisCacheConfig.endpoints`,
:meth:`RedisCacheConfig.database`), where their namespaces must not overlap.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from redis.connection import parse_url

from src.infrastructure.cache.config.base_config import (
    ConnectionPoolConfig,
    NearCacheConfig,
    RemoteCacheConfig,
)
from src.infrastructure.cache.config.sections import Hidden, bounded, secret, url_with_secret
from src.infrastructure.cache.config.urls import check_redis_url, url_database
from src.interfaces.llm.cache import CacheConfigError

#: Where a cache's data lives, comparable between caches: ``("tcp", host, port)``,
#: ``("unix", path)`` or ``("sentinel", host, port, service_name)``.
Endpoint = tuple[str, ...]
DEFAULT_PORT = 6379


@dataclass(frozen=True)
class RedisCacheConfig(RemoteCacheConfig):
    """The shared Redis provider. Names follow redis-py's own where one exists."""

    type_name: ClassVar[str] = "redis"

    enabled: bool = False
    #: ``redis://``, ``rediss://`` or ``unix://`` URL, its password percent-encoded; when set it
    #: replaces host, port, db, username and password.
    url: str | None = field(default=None, repr=False, metadata=url_with_secret(check_redis_url))
    host: str = "localhost"
    port: int = field(default=DEFAULT_PORT, metadata=bounded(1, 65535))
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
    #: Hot entries kept in this process, kept coherent by Redis' invalidations (off by default).
    near_cache: NearCacheConfig = field(default_factory=NearCacheConfig)

    def __post_init__(self) -> None:
        # Each message starts with the setting it is about: the section's parser turns that into
        # the setting's full key path (cache.providers.<name>.<setting>).
        self._check_url()
        self._check_prefix()
        if self.mode == "cluster":
            self._check_cluster()
        if self.mode == "sentinel":
            self._check_sentinel()
        self._check_addresses()
        self._check_near_cache()

    def _check_url(self) -> None:
        """The URL again, for a config built in code (the parser checked it with its key path):
        a URL redis-py misreads must never reach it, where its errors quote pieces of the password."""
        try:
            if self.url:
                check_redis_url(self.url)
        except ValueError as exc:
            raise CacheConfigError(f"url: {exc}") from None

    def _check_prefix(self) -> None:
        if not self.key_prefix and not self.owns_database:
            raise CacheConfigError(
                "key_prefix: empty, so clear() would delete every key of the database; set a prefix "
                "such as 'agent:cache:', or set owns_database: true if this cache owns the database"
            )
        if self.hash_tag and (not self.key_prefix or "{" in self.key_prefix or "}" in self.key_prefix):
            raise CacheConfigError(
                f"hash_tag: needs a non-empty key_prefix without '{{' or '}}', got {self.key_prefix!r}"
            )

    def _check_cluster(self) -> None:
        if not (self.startup_nodes or self.url):
            raise CacheConfigError("startup_nodes: mode 'cluster' needs startup_nodes or a url naming a node")
        if self.db:
            raise CacheConfigError(
                f"db: must be 0 with mode 'cluster' (a cluster has only database 0), got {self.db}"
            )
        if self.url and self.url.startswith("unix://"):
            raise CacheConfigError("url: mode 'cluster' needs a redis:// or rediss:// url naming a node")
        if self.url and url_database(self.url):
            database = url_database(self.url)
            raise CacheConfigError(f"url: names database {database}; a cluster has only database 0")

    def _check_sentinel(self) -> None:
        if not self.sentinels:
            raise CacheConfigError("sentinels: mode 'sentinel' needs the sentinels' 'host:port' addresses")
        if not self.service_name:
            raise CacheConfigError("service_name: mode 'sentinel' needs the name the sentinels monitor")
        if self.url:
            raise CacheConfigError(
                "url: not used with mode 'sentinel', where the sentinels name the master; "
                "set username, password, db and ssl instead"
            )

    def _check_near_cache(self) -> None:
        # Tracking a cluster means one invalidation connection per primary, followed across slot
        # migrations and failovers; refused rather than half done (see docs/near-cache.md).
        if self.near_cache.enabled and self.mode == "cluster":
            raise CacheConfigError(
                "near_cache: not available with mode 'cluster' (invalidations would have to be tracked "
                "on every primary); set near_cache.enabled: false, or use standalone or sentinel mode"
            )

    def _check_addresses(self) -> None:
        for name in ("startup_nodes", "sentinels"):
            for index, text in enumerate(getattr(self, name)):
                try:
                    parse_address(text)
                except ValueError as exc:
                    raise CacheConfigError(f"{name}[{index}]: {exc}") from None

    # ------------------------------------------------------------ questions the wiring asks

    @property
    def namespace_prefix(self) -> str:
        """The prefix of every key: ``key_prefix``, or with ``hash_tag`` that prefix as one hash tag.

        Redis Cluster hashes only what lies between the first ``{`` and the next ``}``, so
        ``{agent:cache}:`` puts every key of the namespace in the same slot. The trailing delimiter
        stays outside the braces: ``agent:cache:`` becomes ``{agent:cache}:``.
        """
        prefix = self.key_prefix
        if not self.hash_tag:
            return prefix
        body, delimiter = (prefix[:-1], ":") if prefix.endswith(":") else (prefix, "")
        return f"{{{body}}}{delimiter}"

    @property
    def database(self) -> int:
        """The database number used: the URL's when a standalone URL names one, else ``db``."""
        if self.url and self.mode == "standalone":
            return url_database(self.url)
        return self.db

    def endpoints(self) -> frozenset[Endpoint]:
        """Where this cache's data lives, as written in its settings (host names are not resolved).

        Standalone: its one server, from ``url`` or ``host``/``port``. Cluster: each startup node
        (or the node ``url`` names). Sentinel: each sentinel with ``service_name``. Two caches
        store into the same database when their endpoints share one and their ``database`` is the
        same: nodes of one cluster, or sentinels of one master, are recognised by any one in common.
        """
        if self.mode == "sentinel":
            service = self.service_name or ""
            return frozenset(("sentinel", host, str(port), service) for host, port in _nodes(self.sentinels))
        if self.url:
            return frozenset({_url_endpoint(self.url)})
        if self.mode == "cluster":
            return frozenset(("tcp", host, str(port)) for host, port in _nodes(self.startup_nodes))
        return frozenset({("tcp", self.host.lower(), str(self.port))})

    def connection_key(self) -> tuple[tuple[str, Any], ...]:
        """Every setting that decides how connections are made: address or URL, database,
        credentials, TLS, mode, timeouts, retries and pool, as ``(name, value)`` pairs.

        Two caches with equal keys can share one connection pool (and client); any difference means
        separate pools. Secrets are wrapped in :class:`Hidden`: compared by value, shown as ``'***'``,
        so the key can be logged. A setting added to this class counts here unless it is listed in
        ``_PER_CACHE_SETTINGS``: when in doubt, caches get separate pools.
        """
        return tuple(
            (item.name, _comparable(getattr(self, item.name), item))
            for item in dataclasses.fields(self)
            if item.name not in _PER_CACHE_SETTINGS
        )


def parse_address(text: str) -> tuple[str, int]:
    """``(host, port)`` of a ``"host:port"`` string (``"[::1]:7000"`` for IPv6); ``ValueError`` if not one."""
    host, colon, port = text.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected 'host:port', got {text!r}")
    return host, int(port)


def _comparable(value: Any, item: dataclasses.Field[Any]) -> Any:
    """``value``, or for a secret (a password, a URL that may hold one) the value :class:`Hidden`."""
    return Hidden(value) if item.metadata.get("secret") or item.metadata.get("url") else value


def _nodes(addresses: tuple[str, ...]) -> list[tuple[str, int]]:
    return [(host.lower(), port) for host, port in map(parse_address, addresses)]


def _url_endpoint(url: str) -> Endpoint:
    parts = parse_url(url)  # type: ignore[no-untyped-call]
    if "path" in parts:
        return ("unix", str(parts["path"]))
    return ("tcp", str(parts.get("host", "localhost")).lower(), str(parts.get("port", DEFAULT_PORT)))


#: Settings of one cache, not of its connections: caches differing only in these share a pool.
_PER_CACHE_SETTINGS = frozenset({item.name for item in dataclasses.fields(RemoteCacheConfig)}) | {
    "key_prefix",
    "owns_database",
    "hash_tag",
    "near_cache",
}
