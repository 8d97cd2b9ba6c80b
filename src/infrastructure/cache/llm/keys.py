"""LLM-response keys: ``<namespace>:v1:<kind>:<sha256 of the request in normal form>``.

The digest is :func:`~src.interfaces.llm.cache_keys.digest` of ``(KEY_FORMAT, kind, fields)``,
where ``fields`` is the request as :func:`~.requests.normalize` returns it: the canonical, typed
encoding, in which mapping order never matters and list order always does. The format is inside
the digest as well as in front of it, so a key of one format can never equal one of another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from src.infrastructure.cache.llm.fields import IGNORED_FIELDS, SECRET_NAME
from src.infrastructure.cache.llm.requests import BINARY, Normalized, normalize
from src.interfaces.llm.cache_keys import digest

#: The key layout's version. Bump it when what a key holds changes (a new normalisation rule, a
#: field moved on or off the deny-list), so new code never reads entries keyed the old way.
KEY_FORMAT = "v1"

Kind = Literal["chat", "stream"]
_MASK = "***"
_FROM_CONFIG = "left out by cache.llm.ignore_fields"


@dataclass(frozen=True, slots=True)
class RequestKey:
    """A request's key, with what the cache needs to know of the request beside it."""

    key: str
    kind: Kind
    model: str
    sampled: bool


class RequestKeys:
    """Builds the keys of one LLM cache: its namespace and its deny-list."""

    def __init__(
        self, namespace: str, ignore_fields: Iterable[str] = (), keep_fields: Iterable[str] = ()
    ) -> None:
        self.namespace = namespace
        keep = set(keep_fields)
        self.ignored_fields: dict[str, str] = {
            name: why for name, why in IGNORED_FIELDS.items() if name not in keep
        }
        self.ignored_fields.update(dict.fromkeys(ignore_fields, _FROM_CONFIG))

    def build(self, request: Any, kind: Kind) -> RequestKey:
        """The key of ``request`` for an entry of ``kind``; ``TypeError``/``ValueError`` for a bad request."""
        normal = normalize(request, self.ignored_fields)
        return RequestKey(self._key(normal, kind), kind, normal.model, normal.sampled)

    def explain(self, request: Any, kind: Kind, sampled_policy: str) -> dict[str, Any]:
        """What went into the key of ``request`` (see ``ILLMResponseCache.explain``)."""
        normal = normalize(request, self.ignored_fields)
        return {
            "key": self._key(normal, kind),
            "namespace": self.namespace,
            "format": KEY_FORMAT,
            "kind": kind,
            "sampled": normal.sampled,
            "policy": sampled_policy if normal.sampled else "cache",
            "included": _shown(normal.fields),
            "ignored": dict(sorted(normal.ignored.items())),
        }

    def _key(self, normal: Normalized, kind: Kind) -> str:
        return f"{self.namespace}:{KEY_FORMAT}:{kind}:{digest((KEY_FORMAT, kind, normal.fields))}"


def _shown(value: Any, name: str = "") -> Any:
    """``value`` for people: binary markers as ``<binary ...>``, credential-like names' text masked."""
    if isinstance(value, tuple) and value and value[0] == BINARY:
        _, media_type, sha256, length = value
        return f"<binary {media_type or 'base64'}, {length} characters, sha256:{sha256}>"
    if isinstance(value, Mapping):
        return {key: _shown(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [_shown(item) for item in value]
    if isinstance(value, str) and name and SECRET_NAME.search(name):
        return _MASK
    return value
