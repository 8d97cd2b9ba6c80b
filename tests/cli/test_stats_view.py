"""The stats text for people, tested directly: 80 columns whatever the values, nothing dropped."""

from __future__ import annotations

from typing import Any

from src.cli.stats_view import SizeReading, counter_lines, fallback_summary, stats_report


def degraded(on_error: str) -> dict[str, Any]:
    return {
        "provider": "redis",
        "hits": 0,
        "misses": 0,
        "sets": 0,
        "deletes": 0,
        "errors": 4,
        "errors_by_kind": {"connection": 3, "timeout": 1},
        "evictions": 0,
        "expirations": 0,
        "server": "redis://cache.internal:6380/2",
        "db": 2,
        "key_prefix": "tenant:with:a:rather:long:prefix:",
        "mode": "cluster",
        "topology": {"mode": "cluster", "nodes": {f"10.0.0.{n}:7000": "primary" for n in range(6)}},
        "resilience": {
            "on_error": on_error,
            "circuit": {"state": "open", "times_opened": 2, "retry_in_seconds": 4.5},
            "degraded_calls": 1234,
            "pending_invalidations": 17,
            "invalidations_replayed": 3,
        },
        "fallback": {"hits": 1000, "misses": 34, "sets": 200, "size": 180},
        "near": {"hits": 5, "misses": 2, "invalidations": 1},  # a section added later: still shown
    }


def test_every_line_fits_80_columns_and_unknown_sections_are_shown() -> None:
    text = stats_report("sessions", degraded("fallback"), SizeReading(None, True, "refused " * 12), pid=7)

    assert max(len(line) for line in text.splitlines()) <= 80
    assert "  near            hits=5, misses=2, invalidations=1" in text
    assert "errors          4 (3 connection, 1 timeout)" in text
    assert "10.0.0.5:7000=primary" in " ".join(text.split())


def test_the_fallback_summary_says_who_served() -> None:
    served = fallback_summary("redis", degraded("fallback"))

    assert served is not None
    assert served.startswith("SERVED BY THE FALLBACK: redis was unavailable (circuit open)")
    assert "answered 1,234 calls (1,000 hits, 34 misses, 200 sets)" in served
    assert fallback_summary("redis", degraded("ignore")) == (
        "DEGRADED: redis was unavailable (circuit open); on_error=ignore answered 1,234 calls: reads "
        "missed, writes were dropped."
    )
    assert "on_error=raise: 1,234 calls raised CacheUnavailableError" in str(
        fallback_summary("redis", degraded("raise"))
    )


def test_no_summary_when_the_policy_answered_nothing() -> None:
    stats = degraded("fallback")
    stats["resilience"]["degraded_calls"] = 0

    assert fallback_summary("redis", stats) is None
    assert fallback_summary("memory", {"hits": 1}) is None


def test_counter_lines_of_a_bare_mapping_do_not_fail() -> None:
    assert counter_lines({})[0] == "  lookups         0 hits, 0 misses (hit rate -)"
