"""Providers that wrap another provider and change one concern of it (failure policy, near cache, metrics)."""
