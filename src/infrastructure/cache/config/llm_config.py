"""The ``cache.llm`` section: the LLM-response cache's cache, TTL, key policy and price table.

.. code-block:: yaml

    cache:
      llm:
        enabled: true          # false: every request calls the model; nothing read or stored
        cache: llm_responses   # a named cache (cache.providers); default: default_provider
        namespace: llm         # first part of every key: <namespace>:v1:<kind>:<sha256>
        ttl: 86400             # seconds; unset: the cache's default_ttl; 0: never expire
        sampled: cache         # temperature > 0 without seed: cache (one sample) or bypass
        wait_timeout: 300      # seconds a caller waits for the same request's model call
        ignore_fields: []      # more request fields left out of keys
        keep_fields: []        # default-ignored fields kept in keys (e.g. [user])
        currency: USD
        prices:                # per model as requested, per million tokens
          gpt-4o: {prompt_per_1m: 2.5, completion_per_1m: 10}

Prices are per million tokens, as providers publish them. A model is priced by its name as the
request gives it, else as the response gives it (``gpt-4o-2024-08-06``); never by prefix, since
``gpt-4o`` is a prefix of ``gpt-4o-mini``, which costs a fifteenth of it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from src.infrastructure.cache.config.base_config import BaseCacheConfig
from src.infrastructure.cache.config.sections import (
    SettingError,
    bounded,
    build_section,
    did_you_mean,
    key_path,
)
from src.infrastructure.cache.llm.fields import IGNORED_FIELDS
from src.infrastructure.cache.validation import MAX_TTL

SampledPolicy = Literal["cache", "bypass"]

#: Fields that always change the answer: they cannot be ignored.
ALWAYS_KEYED = ("model", "messages")
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: The longest model name a price is given for (a key that long is a mistake, or not a name).
_MODEL_NAME_LENGTH = 200


@dataclass(frozen=True)
class ModelPrice:
    """What one model costs, per million tokens, in the section's ``currency``."""

    prompt_per_1m: float = field(default=0.0, metadata=bounded(0, 1_000_000))
    completion_per_1m: float = field(default=0.0, metadata=bounded(0, 1_000_000))

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The price of that many tokens."""
        return (prompt_tokens * self.prompt_per_1m + completion_tokens * self.completion_per_1m) / 1e6


@dataclass(frozen=True)
class LLMCacheConfig:
    """Settings of the LLM-response cache (``cache.llm``)."""

    #: ``false``: a pass-through - every request calls the model and nothing is read or stored
    #: (counted as ``bypassed``), so a deployment can switch the cache off without code changes.
    enabled: bool = True
    #: The named cache (``cache.providers.<name>``) that holds the answers; unset: ``default_provider``.
    cache: str | None = None
    #: First part of every key; two LLM caches on one named cache need different namespaces.
    namespace: str = "llm"
    #: Seconds an answer is kept; unset: the cache's ``default_ttl``; 0: never expires.
    ttl: float | None = field(default=None, metadata=bounded(0, MAX_TTL))
    #: Requests without ``seed`` and with ``temperature`` > 0 or absent: ``cache`` one sample and
    #: replay it, or ``bypass`` the cache (a model call every time, nothing stored).
    sampled: SampledPolicy = "cache"
    #: Seconds a caller waits for the same request's model call (in this process or another)
    #: before calling the model itself; long, since a model call (a stream) can take minutes.
    wait_timeout: float = field(default=300.0, metadata=bounded(0.001, 86_400))
    #: Request fields left out of keys beyond the default deny-list (top level and ``extra_body``).
    ignore_fields: tuple[str, ...] = ()
    #: Fields of the default deny-list kept in keys (``user``: a cache per end user).
    keep_fields: tuple[str, ...] = ()
    #: The currency of ``prices``, for display.
    currency: str = "USD"
    #: Price per model name (see the module docstring).
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAMESPACE.fullmatch(self.namespace):
            raise ValueError(
                f"namespace: {self.namespace!r:.80} is not a namespace: "
                "1 to 64 letters, digits, '_', '.' and '-'"
            )
        for name in ALWAYS_KEYED:
            if name in self.ignore_fields:
                raise ValueError(f"ignore_fields: {name!r} always changes the answer; it cannot be ignored")

    def compute_options(self) -> dict[str, Any]:
        """The ``get_or_set`` options this section sets for every request."""
        return {"wait_timeout": self.wait_timeout}

    def price_of(self, *models: str | None) -> ModelPrice | None:
        """The price of the first of ``models`` the table names exactly; None if none."""
        for model in models:
            if model is not None and model in self.prices:
                return self.prices[model]
        return None

    def display(self, default_cache: str) -> dict[str, Any]:
        """The section as plain data, ``cache`` resolved (``default_cache`` when unset)."""
        shown: dict[str, Any] = {
            item.name: getattr(self, item.name) for item in dataclasses.fields(self) if item.name != "prices"
        }
        shown["cache"] = self.cache or default_cache
        shown["ignore_fields"], shown["keep_fields"] = list(self.ignore_fields), list(self.keep_fields)
        shown["prices"] = {model: dataclasses.asdict(price) for model, price in self.prices.items()}
        return shown


def parse_llm(raw: Any, path: str, caches: Mapping[str, BaseCacheConfig]) -> LLMCacheConfig:
    """Validate the ``cache.llm`` section; :class:`SettingError` naming the key path.

    ``cache`` must name an enabled cache of ``caches``; ``keep_fields`` only entries of the default
    deny-list (``IGNORED_FIELDS``).
    """
    data = dict(raw) if isinstance(raw, Mapping) else raw
    prices_raw = data.pop("prices", None) if isinstance(data, dict) else None
    config = build_section(LLMCacheConfig, data, path, also_known=("prices",))
    _check_cache(config.cache, f"{path}.cache", caches)
    _check_keep_fields(config.keep_fields, f"{path}.keep_fields")
    return dataclasses.replace(config, prices=_parse_prices(prices_raw, f"{path}.prices"))


def _check_cache(name: str | None, path: str, caches: Mapping[str, BaseCacheConfig]) -> None:
    if name is None:
        return
    enabled = [cache for cache, settings in caches.items() if settings.enabled]
    if name in enabled:
        return
    why = "is disabled" if name in caches else f"is not a cache{did_you_mean(name, caches)}"
    raise SettingError(path, f"{name!r} {why}; enabled caches: {', '.join(enabled) or '(none)'}")


def _check_keep_fields(names: tuple[str, ...], path: str) -> None:
    for index, name in enumerate(names):
        if name not in IGNORED_FIELDS:
            raise SettingError(
                f"{path}[{index}]",
                f"{name!r} is not left out of keys by default, so there is nothing to keep"
                f"{did_you_mean(name, IGNORED_FIELDS)}; default-ignored fields: {', '.join(IGNORED_FIELDS)}",
            )


def _parse_prices(raw: Any, path: str) -> dict[str, ModelPrice]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SettingError(path, f"expected a mapping of model name to prices, got {type(raw).__name__}")
    prices = {}
    for model, data in raw.items():
        if not isinstance(model, str) or not model or len(model) > _MODEL_NAME_LENGTH:
            raise SettingError(key_path(path, model), "expected a model name (a non-empty string)")
        prices[model] = build_section(ModelPrice, data, f"{path}.{_shown_model(model)}")
    return prices


def _shown_model(model: str) -> str:
    """A model name in a key path: as is when it reads as one path segment, else quoted."""
    return model if re.fullmatch(r"[A-Za-z0-9_-]+", model) else repr(model)
