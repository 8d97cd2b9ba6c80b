"""The msgpack serializer: version byte, what it refuses, and what it treats as undecodable."""

from __future__ import annotations

import msgpack
import pytest

from src.infrastructure.cache import serialization
from src.interfaces.llm.cache import CacheSerializationError


def test_payload_starts_with_the_format_version() -> None:
    assert serialization.dumps("x")[:1] == serialization.FORMAT_VERSION


def test_round_trip_keeps_bytes_and_str_apart() -> None:
    value = {"s": "text", "b": b"text"}
    assert serialization.loads(serialization.dumps(value)) == value


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"plain text written by another program",
        b"\x80\x04\x95pickle",
        serialization.FORMAT_VERSION,  # version byte, then nothing
        serialization.FORMAT_VERSION + b"\xc1",  # a byte msgpack never uses
        serialization.FORMAT_VERSION + msgpack.packb("ok") + b"trailing",
        serialization.FORMAT_VERSION + b"\xa5\xff\xfe\xfd\xfc\xfb",  # invalid UTF-8 in a str
        b"\x02" + msgpack.packb("from a future format"),
    ],
    ids=["empty", "text", "pickle", "truncated", "reserved", "trailing", "bad-utf8", "future-version"],
)
def test_foreign_or_corrupt_payload_raises_decode_error(payload: bytes) -> None:
    with pytest.raises(serialization.PayloadDecodeError):
        serialization.loads(payload)


def test_unsupported_value_error_names_the_supported_types() -> None:
    with pytest.raises(CacheSerializationError, match="supported: None, bool"):
        serialization.dumps(object())


def test_no_pickle_anywhere_in_the_package() -> None:
    from pathlib import Path

    sources = Path(serialization.__file__).parents[2].rglob("*.py")
    offenders = [
        str(path)
        for path in sources
        if "import pickle" in path.read_text() or "pickle.loads" in path.read_text()
    ]
    assert offenders == []
