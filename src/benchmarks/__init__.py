"""``agent-cache bench``: the providers against the raw clients and a peer, in interleaved rounds.

Importable for scripts::

    from src.benchmarks import BenchmarkOptions, run_benchmark, text_report

    result = run_benchmark(BenchmarkOptions(provider="memory", rounds=5))
    print(text_report(result))  # or result.as_dict() for JSON

See ``docs/benchmarks.md`` for what each figure measures and what limits it.
"""

from src.benchmarks.bench import BenchmarkError, BenchmarkOptions, run_benchmark
from src.benchmarks.report import BenchmarkResult, text_report

__all__ = ["BenchmarkError", "BenchmarkOptions", "BenchmarkResult", "run_benchmark", "text_report"]
