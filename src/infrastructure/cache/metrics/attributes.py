"""The attributes of agent-cache's metrics: ours under ``cache.``, and the OpenTelemetry conventions'."""

from __future__ import annotations

CACHE_NAME = "cache.name"
OPERATION = "cache.operation"
RESULT = "cache.result"
ON_ERROR = "cache.on_error"
ERROR_TYPE = "error.type"
MODEL = "gen_ai.request.model"
USAGE_KIND = "gen_ai.token.type"
