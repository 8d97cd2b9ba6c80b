"""``cache.llm``: parsed into LLMCacheConfig, each rule's error naming its key path, and the LLM
cache resolved from the container over the named cache the section names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from src.infrastructure.cache.config.cache_config import CacheConfig
from src.infrastructure.cache.config.llm_config import LLMCacheConfig, ModelPrice
from src.infrastructure.cache.config.loader import load_cache_config
from src.infrastructure.cache.llm.response_cache import LLMResponseCache
from src.interfaces.llm.cache import CacheConfigError, ICacheProvider
from src.interfaces.llm.response_cache import ILLMResponseCache
from src.services.container import create_container
from tests.llm.builders import StandInModel, chat_request


def load(llm: Any, **section: Any) -> CacheConfig:
    return CacheConfig.from_mapping({"llm": llm, **section})


def test_without_a_section_the_llm_cache_uses_the_default_provider() -> None:
    config = CacheConfig.from_mapping({})
    assert config.llm == LLMCacheConfig()
    assert config.llm_cache == "memory"
    assert (config.llm.namespace, config.llm.sampled, config.llm.ttl) == ("llm", "cache", None)


def test_every_setting_is_read() -> None:
    config = load(
        {
            "enabled": "false",
            "cache": "answers",
            "namespace": "team-a",
            "ttl": "86400",
            "sampled": "BYPASS",
            "wait_timeout": 120,
            "ignore_fields": "trace_tag, session",
            "keep_fields": ["user"],
            "currency": "EUR",
            "prices": {"gpt-4o": {"prompt_per_1m": 2.5, "completion_per_1m": "10"}, "llama3.1:8b": {}},
        },
        providers={"answers": {"type": "memory"}},
    )
    assert config.llm == LLMCacheConfig(
        enabled=False,
        cache="answers",
        namespace="team-a",
        ttl=86400.0,
        sampled="bypass",
        wait_timeout=120.0,
        ignore_fields=("trace_tag", "session"),
        keep_fields=("user",),
        currency="EUR",
        prices={"gpt-4o": ModelPrice(2.5, 10.0), "llama3.1:8b": ModelPrice()},
    )
    assert config.llm_cache == "answers"


@pytest.mark.parametrize(
    ("llm", "message"),
    [
        ({"cahce": "memory"}, "cache.llm.cahce: unknown setting; did you mean 'cache'?"),
        ({"cache": "memroy"}, "cache.llm.cache: 'memroy' is not a cache; did you mean 'memory'?"),
        ({"cache": "redis"}, "cache.llm.cache: 'redis' is disabled; enabled caches: memory"),
        ({"sampled": "sometimes"}, "cache.llm.sampled: expected one of cache, bypass, got 'sometimes'"),
        ({"ttl": -1}, "cache.llm.ttl: must be between 0"),
        ({"wait_timeout": 0}, "cache.llm.wait_timeout: must be between 0.001 and 86400"),
        ({"namespace": "a b"}, "cache.llm.namespace: 'a b' is not a namespace"),
        ({"ignore_fields": ["model"]}, "cache.llm.ignore_fields: 'model' always changes the answer"),
        (
            {"keep_fields": ["temperature"]},
            "cache.llm.keep_fields[0]: 'temperature' is not left out of keys by default",
        ),
        ({"keep_fields": ["usr"]}, "did you mean 'user'?"),
        ({"prices": ["gpt-4o"]}, "cache.llm.prices: expected a mapping of model name to prices"),
        (
            {"prices": {"gpt-4o": {"prompt_per_1k": 1}}},
            "cache.llm.prices.gpt-4o.prompt_per_1k: unknown setting; did you mean 'prompt_per_1m'?",
        ),
        (
            {"prices": {"gpt-4o": {"prompt_per_1m": -1}}},
            "cache.llm.prices.gpt-4o.prompt_per_1m: must be between 0",
        ),
        (
            {"prices": {"openai/gpt-4o": {"prompt_per_1m": "x"}}},
            "cache.llm.prices.'openai/gpt-4o'.prompt_per_1m: expected a number",
        ),
        ("yes", "cache.llm: expected a mapping of settings"),
    ],
)
def test_each_rule_is_an_error_naming_its_key_path(llm: Any, message: str) -> None:
    with pytest.raises(CacheConfigError) as refused:
        load(llm)
    assert message in str(refused.value)


def test_a_top_level_llm_section_of_the_framework_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    path = tmp_path / "global.yaml"
    path.write_text(yaml.safe_dump({"llm": {"model": "gpt-4o"}, "cache": {"llm": {"namespace": "agents"}}}))
    container = create_container(path)
    try:
        assert container.config().llm.namespace == "agents"
    finally:
        container.shutdown_resources()


def test_the_container_resolves_one_llm_cache_over_the_named_cache(tmp_path: Path) -> None:
    path = tmp_path / "global.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "cache": {
                    "providers": {"answers": {"type": "memory", "max_size": 50}},
                    "llm": {"cache": "answers", "namespace": "agents", "ttl": 60},
                }
            }
        )
    )
    container = create_container(path)
    try:
        resolver = container.resolver()
        llm_cache = resolver.get(ILLMResponseCache)
        assert isinstance(llm_cache, LLMResponseCache)
        assert resolver.get(ILLMResponseCache) is llm_cache
        model = StandInModel()
        llm_cache.complete(chat_request(), model.complete)

        answers = resolver.get_named(ICacheProvider, "answers")
        assert answers.exists(llm_cache.key(chat_request()))  # the named cache holds the answer
        assert llm_cache.key(chat_request()).startswith("agents:v1:chat:")
        assert not resolver.get(ICacheProvider).exists(llm_cache.key(chat_request()))
        assert llm_cache.get_stats()["cache"] == "answers"
    finally:
        container.shutdown_resources()


def test_config_display_shows_the_section_with_its_cache_resolved() -> None:
    shown = load({"prices": {"gpt-4o": {"prompt_per_1m": 2.5}}}).display()["llm"]
    assert shown["cache"] == "memory"
    assert shown["prices"] == {"gpt-4o": {"prompt_per_1m": 2.5, "completion_per_1m": 0.0}}
    yaml.safe_dump(shown)  # printable as the CLI prints it


def test_the_shipped_file_holds_the_section_at_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parents[2])
    assert load_cache_config(environ={}).llm == LLMCacheConfig()
    switched = load_cache_config(environ={"AGENT_CACHE_LLM_SAMPLED": "bypass", "AGENT_CACHE_LLM_TTL": "60"})
    assert (switched.llm.sampled, switched.llm.ttl) == ("bypass", 60.0)
