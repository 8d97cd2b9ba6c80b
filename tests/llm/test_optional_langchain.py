"""langchain-core is optional: without it the library, the container and the CLI import, and only
``LangChainCache`` says what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A process in which every langchain module fails to import, as where it is not installed.
WITHOUT_LANGCHAIN = """
import importlib, sys
for name in ("langchain_core", "langchain_tests"):
    sys.modules[name] = None
import src.infrastructure.cache.llm.response_cache
import src.cli.main
from src.services.container import create_container
from src.interfaces.llm.response_cache import ILLMResponseCache
container = create_container()
container.resolver().get(ILLMResponseCache)
container.shutdown_resources()
assert not any(name.startswith("langchain") and sys.modules[name] for name in sys.modules), "imported"
try:
    importlib.import_module("src.infrastructure.cache.llm.langchain")
except ImportError as exc:
    print(exc)
"""


def test_the_library_imports_without_langchain_and_langchain_cache_says_what_to_install() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_LANGCHAIN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pip install 'agent-cache[langchain]'" in result.stdout
