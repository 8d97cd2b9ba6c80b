"""Keeping a cache usable while its backend is down: circuit breaker and failure policy wrapper."""
