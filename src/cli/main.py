"""The ``agent-cache`` command line: a thin click layer over the container and :mod:`src.cli.demo`.

Every command builds the container from ``--config`` (or the loader's search), uses providers only
through ``ICacheProvider`` and the resolver, and shuts the container down before it exits. Expected
failures (configuration, unknown provider, backend errors) end as one line on stderr and exit 1.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from src.benchmarks import BenchmarkError, BenchmarkOptions, run_benchmark, text_report
from src.benchmarks.bench import Target
from src.benchmarks.pinning import PIN_MODES, PinMode
from src.cli import output, stats_view
from src.cli.demo import (
    DEFAULT_CONCURRENCY,
    StandInLLM,
    demo_cache,
    prompt_pool,
    prompt_stream,
    reset_keys,
    run_demo,
)
from src.cli.session import cache_provider, open_container, resolved_config
from src.infrastructure.cache.config.urls import check_redis_url
from src.interfaces.container.resolver import IServiceResolver, ServiceNotRegisteredError
from src.interfaces.llm.cache import CacheError, ICacheProvider
from src.interfaces.llm.response_cache import ILLMResponseCache

F = TypeVar("F", bound=Callable[..., Any])

PROG = "agent-cache"


class CliError(click.ClickException):
    """An expected failure, shown as ``agent-cache: error: <one line>`` on stderr."""

    def show(self, file: Any = None) -> None:
        click.echo(f"{PROG}: error: {output.one_line(self.message)}", err=True)


class _Cli(click.Group):
    """The command group; turns the library's expected errors into :class:`CliError`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (CacheError, ServiceNotRegisteredError, OSError) as exc:
            raise CliError(str(exc) or type(exc).__name__) from exc


def config_option(command: F) -> F:
    """``--config PATH``; without it, the loader searches as ``create_container(None)`` does."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),  # existence is checked by the loader, in its own words
        default=None,
        help="Configuration file. Default: $AGENT_CACHE_CONFIG, else ./configs/global.yaml, else built-ins.",
    )(command)


def provider_option(command: F) -> F:
    """``--provider NAME``: a registered provider instead of the configured default."""
    return click.option(
        "--provider", "provider_name", metavar="NAME", default=None, help="Use this registered provider."
    )(command)


def json_option(command: F) -> F:
    """``--json``: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(command)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Log more to stderr: -v for INFO, -vv for DEBUG.")
@click.version_option(package_name="agent-cache", prog_name=PROG)
def cli(verbose: int) -> None:
    """agent-cache: the cache layer of the agent framework."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@config_option
@provider_option
@click.option(
    "--requests", type=click.IntRange(min=1), default=300, show_default=True, help="Requests to make."
)
@click.option(
    "--unique",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    help="Distinct prompts in the pool.",
)
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    help="Delay of each LLM call, in ms.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the prompt stream.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Agents asking at once.",
)
@json_option
def demo(
    *,
    config_path: Path | None,
    provider_name: str | None,
    requests: int,
    unique: int,
    latency_ms: float,
    seed: int,
    concurrency: int,
    as_json: bool,
) -> None:
    """Run agents' LLM calls through the LLM-response cache and show what it saved.

    Uses the cache that cache.llm names (or --provider), in its own namespace (demo:...), whose
    entries it deletes at the start so the run begins cold; never clears the cache.
    """
    llm = StandInLLM(latency=latency_ms / 1000)
    pool = prompt_pool(unique)
    stream = prompt_stream(pool, requests, seed)
    with open_container(config_path) as container:
        config = resolved_config(container)
        name = provider_name or config.llm_cache
        provider = cache_provider(container.resolver(), name)
        cache = demo_cache(provider, config.llm, llm, cache_name=name)
        reset_keys(cache, llm, pool)
        progress = click.progressbar(
            stream, label=f"{requests} requests via {provider.name}", file=sys.stderr
        )
        with progress as prompts:
            result = run_demo(cache, llm, prompts, concurrency=concurrency)
        llm_stats, provider_stats = cache.get_stats(), provider.get_stats()
    if as_json:
        report = {
            "provider": name,
            **result.as_dict(),
            "llm_stats": llm_stats,
            "provider_stats": provider_stats,
        }
        click.echo(output.to_json(report))
    else:
        workload = (
            f"{requests} requests drawn from {unique} prompts by {concurrency} concurrent agents "
            f"(seed {seed}, LLM {latency_ms:g} ms)"
        )
        click.echo(output.demo_report(result, name, llm_stats, provider_stats, workload))
    if result.mismatches:
        raise CliError(f"{result.mismatches} cached records differ from what the LLM returns")


@cli.command()
@config_option
def config(config_path: Path | None) -> None:
    """Print the resolved configuration as YAML (secrets masked) and the file it came from."""
    with open_container(config_path) as container:
        config = resolved_config(container)
    click.echo(output.config_document(config.display(), config.source))


@cli.command()
@config_option
@provider_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people (80 columns), json for scripts.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def stats(config_path: Path | None, provider_name: str | None, output_format: str, as_json: bool) -> None:
    """Print a cache's size, the counters of THIS process (get_stats()) and the LLM cache's.

    Counters are per process: this command's own are zero until it makes calls; a service's are in
    that service (its get_stats(), its metrics). A remote cache's size is asked of the server.
    """
    with open_container(config_path) as container:
        resolver = container.resolver()
        name = provider_name or resolved_config(container).default_provider
        cache = cache_provider(resolver, provider_name)
        size = _size_of(cache, remote=resolved_config(container).providers[name].remote)
        data = cache.get_stats()
        llm_stats = resolver.get(ILLMResponseCache).get_stats()
    if as_json or output_format == "json":
        document = stats_view.stats_document(name, data, size, os.getpid())
        click.echo(output.to_json({**document, "llm": llm_stats}))
    else:
        report = stats_view.stats_report(name, data, size, os.getpid())
        click.echo(f"{report}\n\n{output.llm_stats_report(llm_stats)}")


def _size_of(cache: ICacheProvider, remote: bool) -> stats_view.SizeReading:
    """The cache's size; for a remote cache only if its server answers now (otherwise the failure
    policy would answer with its fallback's size, which is not the server's)."""
    if remote:
        report = cache.health()
        if not report.get("healthy"):
            return stats_view.SizeReading(None, remote, output.one_line(report.get("detail", "unhealthy")))
    return stats_view.SizeReading(cache.get_size(), remote)


@cli.command()
@config_option
@provider_option
@json_option
@click.pass_context
def health(ctx: click.Context, config_path: Path | None, provider_name: str | None, as_json: bool) -> None:
    """Check every registered provider (or only NAME); exit 1 if any is down."""
    with open_container(config_path) as container:
        resolver = container.resolver()
        names = [provider_name] if provider_name else resolver.names(ICacheProvider)
        reports = [_health_of(resolver, name) for name in names]
    healthy = all(report.get("healthy") is True for report in reports)
    if as_json:
        click.echo(output.to_json({"healthy": healthy, "providers": reports}))
    else:
        click.echo(output.health_report(reports))
    ctx.exit(0 if healthy else 1)


def _health_of(resolver: IServiceResolver, name: str) -> dict[str, Any]:
    """``health()`` of the provider ``name``; a provider that cannot even be built is reported down."""
    try:
        return resolver.get_named(ICacheProvider, name).health()
    except CacheError as exc:
        return {"provider": name, "healthy": False, "detail": output.one_line(exc)}


def _checked_redis_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--redis-url`` checked as the configured url is: redis-py misreads an unencoded password and
    quotes pieces of it in its errors. The message never shows the URL's credentials."""
    if value is not None:
        try:
            check_redis_url(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


@cli.command()
@config_option
@click.option(
    "--provider",
    "target",
    type=click.Choice(["memory", "redis", "all"]),
    default="all",
    show_default=True,
    help="What to measure (all: Redis is skipped, with a note, if no server can be had).",
)
@click.option(
    "--rounds", type=click.IntRange(min=1), default=7, show_default=True, help="Interleaved rounds."
)
@click.option(
    "--ops",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Operations per contender per round (x5 for batches, x10 in-process).",
)
@click.option(
    "--value-bytes", type=click.IntRange(min=1), default=300, show_default=True, help="Value size, msgpack."
)
@click.option("--tasks", type=click.IntRange(min=1), default=64, show_default=True, help="Concurrent tasks.")
@click.option(
    "--pin",
    type=click.Choice(PIN_MODES),
    default="same",
    show_default=True,
    help="CPU pinning of client and (started) server: same CPU, split over two, or none.",
)
@click.option(
    "--redis-url",
    metavar="URL",
    default=None,
    callback=_checked_redis_url,
    help="Server to use. Default: the configured redis provider if enabled, else a redis-server "
    "started on a free loopback port. Keys go under a fresh prefix and are deleted after.",
)
@click.option(
    "--footprint-entries",
    type=click.IntRange(min=0),
    default=100_000,
    show_default=True,
    help="Entries for the memory footprint measure (0: skip it).",
)
@click.option(
    "--namespace-keys",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Other keys beside the namespace-clear scenario, e.g. 1000000 (0: skip it).",
)
@json_option
def bench(
    *,
    config_path: Path | None,
    target: Target,
    rounds: int,
    ops: int,
    value_bytes: int,
    tasks: int,
    pin: PinMode,
    redis_url: str | None,
    footprint_entries: int,
    namespace_keys: int,
    as_json: bool,
) -> None:
    """Measure the providers against raw redis-py, redis.asyncio, cachetools and aiocache.

    Progress goes to stderr; the table of ops/s and the ratios (ours / raw, ours / peer) to stdout.
    """
    options = BenchmarkOptions(
        provider=target,
        rounds=rounds,
        ops=ops,
        value_bytes=value_bytes,
        tasks=tasks,
        pin=pin,
        redis_url=redis_url,
        config_path=config_path,
        footprint_entries=footprint_entries,
        namespace_keys=namespace_keys,
    )
    try:
        result = run_benchmark(options, progress=lambda line: click.echo(line, err=True))
    except BenchmarkError as exc:
        raise CliError(str(exc)) from exc
    click.echo(output.to_json(result.as_dict()) if as_json else text_report(result))


def main() -> None:
    """Console-script entry point: run the command line and exit with its status."""
    cli(prog_name=PROG)
