"""Settings every cache has, and the failure policy every remote cache has.

A provider type's config class derives from :class:`BaseCacheConfig`; one whose backend is a server
that can go away derives from :class:`RemoteCacheConfig` instead, which adds the failure policy
(``on_error``, ``fallback_provider``, ``circuit_breaker``, ``max_pending_invalidations``) as flat
settings - the keys of the YAML section - and groups them as :attr:`RemoteCacheConfig.failure_policy`
for the code that wraps the provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

from src.infrastructure.cache.compute.settings import ComputeSettings
from src.infrastructure.cache.config.sections import FieldRules, bounded
from src.infrastructure.cache.validation import MAX_TTL

#: The largest ``max_value_bytes``: what Redis accepts as one string by default. A larger value
#: would be refused by the server inside a batch, failing the other callers' writes with it.
MAX_VALUE_BYTES = 512 * 1024 * 1024

OnError = Literal["raise", "fallback", "ignore"]

#: Bounds of ``ComputeSettings`` (whose class, outside the config package, carries none) so that a
#: bad value is refused naming its key path. The lower bounds are the class's own; the upper ones
#: are the config's: a lease held, or a wait, longer than a day is a mistake (and a wait beyond
#: ``threading.TIMEOUT_MAX``, ~292 years, an OverflowError), and a stale entry is kept at most as
#: long as any TTL.
COMPUTE_RULES = FieldRules(
    {
        "lease_ttl": bounded(0.001, 86_400),
        "wait_timeout": bounded(0.001, 86_400),
        "stale_ttl": bounded(0, MAX_TTL),
        "beta": bounded(0),
    }
)


@dataclass(frozen=True)
class BaseCacheConfig:
    """Settings every provider has."""

    #: The provider type these settings are for: the value of ``type:`` in a cache's section.
    type_name: ClassVar[str] = ""
    #: True for a provider whose backend is a server that can go away: it has a failure policy
    #: (:class:`RemoteCacheConfig`) and is served behind the resilient wrapper.
    remote: ClassVar[bool] = False

    enabled: bool = True
    #: Seconds an entry lives when ``set`` is given no TTL; 0 means entries never expire. At most
    #: ``MAX_TTL`` (about 317 years), the bound every provider applies to a TTL given to ``set``.
    default_ttl: float = field(default=3600.0, metadata=bounded(0, MAX_TTL))
    #: Largest serialized value accepted, in bytes; a larger one raises and writes nothing. At most
    #: 512 MiB, the largest string Redis stores by default (``proto-max-bulk-len``).
    max_value_bytes: int = field(default=1_048_576, metadata=bounded(1, MAX_VALUE_BYTES))
    #: How ``get_or_set`` behaves for this cache (the YAML section ``compute:``): lease and wait
    #: times, stale serving, XFetch. Each call may override any of them by keyword.
    compute: Annotated[ComputeSettings, COMPUTE_RULES] = field(default_factory=ComputeSettings)


@dataclass(frozen=True)
class MemoryCacheConfig(BaseCacheConfig):
    """The in-process TTL + LRU provider."""

    type_name: ClassVar[str] = "memory"

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
class NearCacheConfig:
    """A Redis cache's near cache: hot entries kept in the process, invalidated by the server.

    Off by default. See docs/near-cache.md for what it guarantees and what it costs.
    """

    enabled: bool = False
    #: Most entries kept in the process; the least recently used is dropped beyond it.
    max_size: int = field(default=10_000, metadata=bounded(1, 10_000_000))
    #: Longest an entry is kept in the process, in seconds, whatever its Redis TTL (which an entry
    #: never outlives either): a bound on what a lost invalidation could cost.
    ttl: float = field(default=60.0, metadata=bounded(0.001, 86_400))
    #: Largest serialized value kept in the process; larger ones are read from Redis every time.
    max_value_bytes: int = field(default=65_536, metadata=bounded(1, MAX_VALUE_BYTES))
    #: RESP version of the invalidation connection: 3 receives invalidations as push messages on
    #: the tracking connection itself; 2 redirects them to that connection's pub/sub channel
    #: ``__redis__:invalidate`` (for servers or proxies that do not speak RESP3).
    protocol: int = field(default=3, metadata=bounded(2, 3))
    #: Seconds between PINGs on the invalidation connection (with Sentinel, also between checks that
    #: its server is still the master); a PING unanswered for as long again puts tracking in doubt:
    #: the near cache is emptied and bypassed until it is back.
    ping_interval: float = field(default=1.0, metadata=bounded(0.01, 60))


@dataclass(frozen=True)
class FailurePolicyConfig:
    """What callers of a remote cache see while its backend is unavailable, in one object."""

    on_error: OnError
    #: Name of a memory-type cache whose settings build the private fallback.
    fallback_provider: str
    circuit_breaker: CircuitBreakerConfig
    max_pending_invalidations: int


@dataclass(frozen=True)
class RemoteCacheConfig(BaseCacheConfig):
    """Settings of a provider whose backend is a server: the failure policy, as flat YAML keys."""

    remote: ClassVar[bool] = True

    #: What callers see while the backend is unavailable: ``raise`` CacheUnavailableError, serve
    #: from the ``fallback`` provider, or ``ignore`` (reads miss, writes are dropped).
    on_error: OnError = "fallback"
    #: Memory-type cache whose settings build the private fallback (never the shared named one).
    fallback_provider: str = "memory"
    circuit_breaker: CircuitBreakerConfig = field(default_factory=CircuitBreakerConfig)
    #: Keys invalidated during an outage that are remembered one by one; beyond, recovery clears
    #: the whole namespace instead.
    max_pending_invalidations: int = field(default=100_000, metadata=bounded(1))

    @property
    def failure_policy(self) -> FailurePolicyConfig:
        """The failure policy settings, for the code that wraps the provider."""
        return FailurePolicyConfig(
            on_error=self.on_error,
            fallback_provider=self.fallback_provider,
            circuit_breaker=self.circuit_breaker,
            max_pending_invalidations=self.max_pending_invalidations,
        )
