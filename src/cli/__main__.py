"""``python -m src.cli``: the same command line as the ``agent-cache`` console script."""

from src.cli.main import main

main()
