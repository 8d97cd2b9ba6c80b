"""Sync Redis contenders: raw redis-py doing the provider's work by hand, and the provider itself.

The raw client is ``redis.Redis.from_url(url)`` with its default settings (hiredis parser when
installed). By hand means: prefix the key, msgpack the value behind the same one-byte format
version, ``SET ... EX`` / ``GET`` / ``MGET`` / a non-transactional pipeline of SETs. It writes and
reads the same keys and bytes as the provider.
"""

from __future__ import annotations

from collections.abc import Callable

import msgpack
import redis

from src.benchmarks.runner import Contender
from src.benchmarks.workload import BATCH_SIZE, TTL_SECONDS, Workload, each_key
from src.infrastructure.cache.serialization import FORMAT_VERSION
from src.interfaces.llm.cache import ICacheProvider

#: A batch contender runs this many more key-operations per round: ~2 µs each, they need it to
#: last as long as the others.
BATCH_SCALE = 5

#: The providers under test: (role, name). ``ours`` is the provider as services get it from the
#: container (resilience wrapper included); ``bare`` is the RedisCacheProvider alone.
Providers = list[tuple[str, str, ICacheProvider]]


def sync_contenders(
    workload: Workload, client: redis.Redis, prefix: str, providers: Providers
) -> list[Contender]:
    """``get`` and ``set`` one key at a time: raw redis-py against each provider."""
    contenders = [
        Contender("redis get (sync)", "raw redis-py + hiredis", "raw", _raw_get(client, prefix, workload)),
        Contender("redis set (sync)", "raw redis-py + hiredis", "raw", _raw_set(client, prefix, workload)),
    ]
    for role, name, provider in providers:
        contenders.append(Contender("redis get (sync)", name, role, each_key(workload.keys, provider.get)))
        contenders.append(Contender("redis set (sync)", name, role, _set(provider, workload)))
    return contenders


def batch_contenders(
    workload: Workload, client: redis.Redis, prefix: str, providers: Providers
) -> list[Contender]:
    """``get_many``/``set_many`` of ``BATCH_SIZE`` keys against raw MGET/pipeline and single calls."""
    get_case, set_case = f"redis get_many({BATCH_SIZE})", f"redis set_many({BATCH_SIZE})"
    contenders = [
        Contender(get_case, "raw MGET", "raw", _raw_mget(client, prefix, workload), BATCH_SCALE),
        Contender(
            set_case, "raw pipeline of SET EX", "raw", _raw_pipeline(client, prefix, workload), BATCH_SCALE
        ),
    ]
    for role, name, provider in providers:
        get_many, set_many = _get_many(provider, workload), _set_many(provider, workload)
        contenders.append(Contender(get_case, f"{name} get_many", role, get_many, BATCH_SCALE))
        contenders.append(Contender(set_case, f"{name} set_many", role, set_many, BATCH_SCALE))
    role, name, provider = providers[0]
    contenders.append(
        Contender(get_case, f"{name}, {BATCH_SIZE} x get", "singles", each_key(workload.keys, provider.get))
    )
    contenders.append(Contender(set_case, f"{name}, {BATCH_SIZE} x set", "singles", _set(provider, workload)))
    return contenders


def _raw_get(client: redis.Redis, prefix: str, workload: Workload) -> Callable[[int], int]:
    keys, count = workload.keys, len(workload.keys)

    def run(ops: int) -> int:
        for i in range(ops):
            payload = client.get(prefix + keys[i % count])
            msgpack.unpackb(payload[1:])  # type: ignore[index]
        return ops

    return run


def _raw_set(client: redis.Redis, prefix: str, workload: Workload) -> Callable[[int], int]:
    keys, value, count = workload.keys, workload.value, len(workload.keys)

    def run(ops: int) -> int:
        for i in range(ops):
            client.set(prefix + keys[i % count], FORMAT_VERSION + msgpack.packb(value), ex=TTL_SECONDS)
        return ops

    return run


def _raw_mget(client: redis.Redis, prefix: str, workload: Workload) -> Callable[[int], int]:
    batches = workload.batches

    def run(ops: int) -> int:
        calls = max(1, ops // BATCH_SIZE)
        for i in range(calls):
            batch = batches[i % len(batches)]
            payloads = client.mget([prefix + key for key in batch])
            # The same result as get_many: the values of the keys present, by key.
            {key: msgpack.unpackb(p[1:]) for key, p in zip(batch, payloads, strict=True) if p is not None}
        return calls * BATCH_SIZE

    return run


def _raw_pipeline(client: redis.Redis, prefix: str, workload: Workload) -> Callable[[int], int]:
    batches, value = workload.batches, workload.value

    def run(ops: int) -> int:
        calls = max(1, ops // BATCH_SIZE)
        for i in range(calls):
            with client.pipeline(transaction=False) as pipe:
                for key in batches[i % len(batches)]:
                    pipe.set(prefix + key, FORMAT_VERSION + msgpack.packb(value), ex=TTL_SECONDS)
                pipe.execute()
        return calls * BATCH_SIZE

    return run


def _set(provider: ICacheProvider, workload: Workload) -> Callable[[int], int]:
    keys, value, count = workload.keys, workload.value, len(workload.keys)

    def run(ops: int) -> int:
        for i in range(ops):
            provider.set(keys[i % count], value, TTL_SECONDS)
        return ops

    return run


def _get_many(provider: ICacheProvider, workload: Workload) -> Callable[[int], int]:
    batches = workload.batches

    def run(ops: int) -> int:
        calls = max(1, ops // BATCH_SIZE)
        for i in range(calls):
            provider.get_many(batches[i % len(batches)])
        return calls * BATCH_SIZE

    return run


def _set_many(provider: ICacheProvider, workload: Workload) -> Callable[[int], int]:
    batches, value = workload.batches, workload.value

    def run(ops: int) -> int:
        calls = max(1, ops // BATCH_SIZE)
        for i in range(calls):
            provider.set_many(dict.fromkeys(batches[i % len(batches)], value), TTL_SECONDS)
        return calls * BATCH_SIZE

    return run
