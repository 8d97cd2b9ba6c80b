"""Tests of the agent-cache command line."""
