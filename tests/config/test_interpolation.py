"""``${NAME:default}`` and ``$<NAME:default>``: substituted into parsed values, verbatim, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from src.infrastructure.cache.config.cache_config import MemoryCacheConfig, RedisCacheConfig
from src.infrastructure.cache.config.interpolation import interpolate
from src.infrastructure.cache.config.loader import load_cache_config
from src.interfaces.llm.cache import CacheConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cache.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("marker", ["${NAME:fallback}", "$<NAME:fallback>"])
def test_both_spellings_take_the_default_when_unset(marker: str) -> None:
    assert interpolate({"k": marker}, {}, "f.yaml") == {"k": "fallback"}


@pytest.mark.parametrize("marker", ["${NAME:fallback}", "$<NAME:fallback>", "${NAME}", "$<NAME>"])
def test_both_spellings_take_the_variable_when_set(marker: str) -> None:
    assert interpolate({"k": marker}, {"NAME": "from-env"}, "f.yaml") == {"k": "from-env"}


def test_set_but_empty_variable_wins_over_the_default() -> None:
    assert interpolate({"k": "${NAME:fallback}"}, {"NAME": ""}, "f.yaml") == {"k": ""}


def test_defaults_may_be_empty_or_contain_colons() -> None:
    doc = {"a": "${A:}", "b": "${B:agent:cache:}", "c": "$<C:redis://h:1/0>"}
    assert interpolate(doc, {}, "f.yaml") == {"a": "", "b": "agent:cache:", "c": "redis://h:1/0"}


def test_markers_inside_text_lists_and_nested_maps() -> None:
    doc = {
        "url": "redis://${HOST:localhost}:${PORT:6379}/0",
        "nodes": ["${N1:a:1}", "b:2"],
        "x": {"y": "$<Y:z>"},
    }
    assert interpolate(doc, {"PORT": "7000"}, "f.yaml") == {
        "url": "redis://localhost:7000/0",
        "nodes": ["a:1", "b:2"],
        "x": {"y": "z"},
    }


def test_non_string_values_are_left_alone() -> None:
    assert interpolate({"n": 5, "b": True, "none": None}, {}, "f.yaml") == {"n": 5, "b": True, "none": None}


def test_missing_variable_without_default_names_variable_path_and_file() -> None:
    with pytest.raises(CacheConfigError) as raised:
        interpolate(
            {"cache": {"providers": {"redis": {"host": "${REDIS_HOST_X}"}}}}, {}, "configs/global.yaml"
        )
    message = str(raised.value)
    assert "REDIS_HOST_X" in message
    assert "configs/global.yaml" in message
    assert "cache.providers.redis.host" in message


@pytest.mark.parametrize(
    "value",
    [
        "pa ss # not a comment",
        "key: value",
        "'quoted' \"double\"",
        "multi\nline",
        "{flow: map}",
        "[1, 2]",
        "- dash",
        "&anchor *alias !tag",
        "${NOT_EXPANDED_AGAIN}",
        "   padded   ",
    ],
)
def test_environment_values_are_used_verbatim(tmp_path: Path, value: str) -> None:
    path = write(
        tmp_path,
        'cache:\n  providers:\n    redis:\n      password: "${PW}"\n      key_prefix: "${PREFIX}"\n',
    )
    config = load_cache_config(path, environ={"PW": value, "PREFIX": value})
    redis = config.providers["redis"]
    assert isinstance(redis, RedisCacheConfig)
    assert redis.password == value
    assert redis.key_prefix == value


def test_values_are_converted_after_substitution(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "cache:\n  providers:\n    memory:\n"
        '      max_size: "${SIZE:10}"\n      default_ttl: "$<TTL:1.5>"\n      enabled: "${ON:yes}"\n'
        '    redis:\n      port: "${REDIS_PORT:6379}"\n',
    )
    config = load_cache_config(path, environ={"SIZE": "42"})
    memory = config.providers["memory"]
    assert memory == MemoryCacheConfig(max_size=42, default_ttl=1.5, enabled=True)
    assert config.providers["redis"].port == 6379  # type: ignore[attr-defined]


def test_sections_of_other_modules_are_not_interpolated(tmp_path: Path) -> None:
    path = write(tmp_path, 'llm:\n  api_key: "${SOME_UNSET_KEY}"\ncache:\n  default_provider: memory\n')
    assert load_cache_config(path, environ={}).default_provider == "memory"
