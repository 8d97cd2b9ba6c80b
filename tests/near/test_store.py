"""The near cache's store on its own: expiry, the LRU bound, tickets against stale inserts, sessions,
the circuit. Time is a test clock; the circuit is the failure policy's real breaker."""

from __future__ import annotations

import pytest

from src.infrastructure.cache.config.cache_config import RedisCacheConfig
from src.infrastructure.cache.near.store import NO_EXPIRY, NO_KEY, NearStore
from src.infrastructure.cache.providers.redis.redis_provider import RedisCacheProvider
from src.infrastructure.cache.resilience.circuit_breaker import CircuitBreaker
from src.infrastructure.cache.serialization import LEASE_MARK

PAYLOAD = b"\x01\xa3abc"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def serving(store: NearStore) -> NearStore:
    assert store.tracking_on(store.new_session())
    return store


def make(clock: Clock, *, max_size: int = 100, ttl: float = 60.0, **options: object) -> NearStore:
    return serving(NearStore(max_size, ttl, 1000, clock=clock, **options))  # type: ignore[arg-type]


def fill(store: NearStore, name: bytes, payload: bytes = PAYLOAD, pttl: int = NO_EXPIRY) -> None:
    ticket = store.begin(name)
    assert ticket is not None
    store.finish(name, ticket, payload, pttl)


def test_an_entry_never_outlives_its_redis_ttl_counted_from_when_the_read_left(clock: Clock) -> None:
    store = make(clock)
    ticket = store.begin(b"k")
    assert ticket is not None
    clock.now += 0.05  # the round trip: Redis measured its PTTL somewhere in here
    store.finish(b"k", ticket, PAYLOAD, 200)
    clock.now = 100.0 + 0.199
    assert store.get(b"k") == PAYLOAD
    clock.now = 100.0 + 0.2  # the read left at 100.0: Redis' own expiry is at 100.2 at the latest
    assert store.get(b"k") is None


def test_an_entry_never_outlives_the_near_ttl_whatever_redis_says(clock: Clock) -> None:
    store = make(clock, ttl=1.0)
    fill(store, b"forever", pttl=NO_EXPIRY)
    fill(store, b"long", pttl=3_600_000)
    clock.now += 0.999
    assert store.get(b"forever") == store.get(b"long") == PAYLOAD
    clock.now += 0.001
    assert store.get(b"forever") is store.get(b"long") is None


def test_what_is_not_a_live_value_is_never_held(clock: Clock) -> None:
    store = make(clock)
    fill(store, b"absent", None, NO_KEY)  # type: ignore[arg-type]
    fill(store, b"lease", LEASE_MARK + b"token", 10_000)  # compute-once's mark: not a value
    fill(store, b"gone", PAYLOAD, NO_KEY)  # expired between GET and PTTL
    fill(store, b"big", b"\x01" + b"x" * 1000, NO_EXPIRY)  # over max_value_bytes (1000)
    assert store.snapshot()["size"] == 0


def test_the_least_recently_used_entry_goes_beyond_max_size(clock: Clock) -> None:
    store = make(clock, max_size=2)
    fill(store, b"a")
    fill(store, b"b")
    assert store.get(b"a") == PAYLOAD  # a is now more recent than b
    fill(store, b"c")
    assert store.get(b"b") is None
    assert store.get(b"a") == store.get(b"c") == PAYLOAD
    assert store.snapshot()["size"] == 2


@pytest.mark.parametrize("meanwhile", ["invalidation", "own write", "flush", "clear", "namespace clear"])
def test_a_read_that_raced_a_change_stores_nothing(clock: Clock, meanwhile: str) -> None:
    store = make(clock)
    ticket = store.begin(b"p:\xff{ns}\xffk")
    assert ticket is not None
    # ... the GET is on its way; the key changes on the server, or here ...
    if meanwhile == "invalidation":
        store.invalidate([b"p:\xff{ns}\xffk"])
    elif meanwhile == "own write":
        store.drop([b"p:\xff{ns}\xffk"])
    elif meanwhile == "flush":
        store.invalidate(None)
    elif meanwhile == "clear":
        store.drop_all()
    else:
        store.drop_prefixed((b"p:\xff{ns}\xff", b"p:\xff{ns}\xfe"))
    store.finish(b"p:\xff{ns}\xffk", ticket, PAYLOAD, NO_EXPIRY)  # ... and the old value arrives
    assert store.get(b"p:\xff{ns}\xffk") is None


def test_of_two_reads_of_one_key_only_the_later_stores(clock: Clock) -> None:
    store = make(clock)
    first, second = store.begin(b"k"), store.begin(b"k")
    assert first is not None
    assert second is not None
    store.finish(b"k", first, b"\x01\x01", NO_EXPIRY)
    assert store.get(b"k") is None
    store.finish(b"k", second, b"\x01\x02", NO_EXPIRY)
    assert store.get(b"k") == b"\x01\x02"


def test_a_namespace_clear_drops_its_names_and_its_childrens_only(clock: Clock) -> None:
    store = make(clock)
    names = {
        "own": b"p:\xff{a}\xfeb\xffk",
        "child": b"p:\xff{a}\xfeb\xfec\xffk",
        "sibling": b"p:\xff{a}\xfebx\xffk",
        "parent": b"p:\xff{a}\xffk",
        "cache": b"p:k",
    }
    for name in names.values():
        fill(store, name)
    store.drop_prefixed((b"p:\xff{a}\xfeb\xff", b"p:\xff{a}\xfeb\xfe"))
    kept = {label for label, name in names.items() if store.get(name) is not None}
    assert kept == {"sibling", "parent", "cache"}


def test_nothing_is_served_or_stored_outside_a_tracking_session(clock: Clock) -> None:
    store = make(clock)
    fill(store, b"k")
    session = store.new_session()  # a new listener: from empty, not serving until it says so
    assert store.get(b"k") is None
    assert store.begin(b"k") is None
    assert store.tracking_on(session)
    assert store.get(b"k") is None  # nothing carried over
    fill(store, b"k")
    store.tracking_lost(session)
    assert not store.serving
    assert store.get(b"k") is None
    assert store.snapshot()["flushes"] == 1


def test_a_superseded_listener_cannot_turn_serving_back_on(clock: Clock) -> None:
    store = NearStore(10, 60.0, 1000, clock=clock)
    old = store.new_session()
    store.new_session()  # stopped, then started again
    assert not store.tracking_on(old)
    assert not store.serving


def test_a_ticket_taken_before_tracking_was_lost_stores_nothing(clock: Clock) -> None:
    store = make(clock)
    session = store.new_session()
    store.tracking_on(session)
    ticket = store.begin(b"k")
    assert ticket is not None
    store.tracking_lost(session)
    store.tracking_on(store.new_session())
    store.finish(b"k", ticket, PAYLOAD, NO_EXPIRY)
    assert store.get(b"k") is None


def test_the_circuit_opening_empties_the_store_and_bypasses_it_while_open(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_interval=1.0, timer=clock)
    store = make(clock, circuit=breaker)
    fill(store, b"k")
    ticket = store.begin(b"late")
    assert ticket is not None
    breaker.trip()
    assert store.get(b"k") is None
    assert store.begin(b"k") is None
    clock.now += 1.0
    assert breaker.try_begin_probe()
    breaker.end_probe(recovered=True)
    store.finish(b"late", ticket, PAYLOAD, NO_EXPIRY)  # read before the outage: not stored after it
    assert store.get(b"k") is store.get(b"late") is None
    fill(store, b"k")
    assert store.get(b"k") == PAYLOAD
    assert store.snapshot()["flushes"] == 1


def test_an_outage_noticed_only_after_it_ended_still_empties_the_store(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_interval=0.0, timer=clock)
    store = make(clock, circuit=breaker)
    fill(store, b"k")
    breaker.trip()  # opened and closed again between two calls of this store
    assert breaker.try_begin_probe()
    breaker.end_probe(recovered=True)
    assert store.get(b"k") is None
    assert store.snapshot()["flushes"] == 1


def test_stats_have_the_shape_the_metrics_read(clock: Clock) -> None:
    store = make(clock)
    fill(store, b"k")
    store.get(b"k")
    store.get(b"other")
    store.invalidate([b"k", b"x"])
    store.invalidate(None)
    snapshot = store.snapshot()
    assert {key: snapshot[key] for key in ("hits", "misses", "invalidations", "flushes", "size")} == {
        "hits": 1,
        "misses": 1,
        "invalidations": 3,
        "flushes": 1,
        "size": 0,
    }


def test_a_namespace_scope_covers_its_names_and_its_childrens_not_its_siblings() -> None:
    cache = RedisCacheProvider(RedisCacheConfig(enabled=True, key_prefix="p:"))  # dials nothing
    tenant = cache.namespace("a").namespace("b")
    names = {
        "own": tenant.near_source().name("k"),
        "child": tenant.namespace("c").near_source().name("k"),
        "sibling": cache.namespace("a").namespace("bx").near_source().name("k"),
        "parent": cache.namespace("a").near_source().name("k"),
        "cache": cache.near_source().name("k"),
    }
    scope = tenant.near_source().scope
    assert {label for label, name in names.items() if name.startswith(scope)} == {"own", "child"}
    assert all(name.startswith(cache.near_source().scope) for name in names.values())
    cache.close()
