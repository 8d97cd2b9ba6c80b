"""The agent-cache command line (console script ``agent-cache``, or ``python -m src.cli``)."""
