"""The orchestration behind ``sage bench serve`` and ``sage bench compare``: one ``run_*``
function per command. The CLI only parses options into a :class:`SuiteConfig` (plus
endpoints) and calls these; a bad argument is a :class:`~sage.common.errors.ConfigError`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sage.benchmark.serving.suite import SuiteConfig


def suite_config(cfg: SuiteConfig) -> dict[str, Any]:
    """The run's settings as the report records them."""
    return {
        "workload": cfg.spec.model_dump(),
        "rates": cfg.rates,
        "duration_s": cfg.duration_s,
        "baselines": cfg.baselines,
        "seed": cfg.seed,
        "repeats": cfg.repeats,
        "victim": cfg.victim,
        **cfg.extra,
    }


def run_serve(cfg: SuiteConfig, endpoints: Any, label: str, output: Path,
              console: Console) -> dict[str, Path]:
    """Open-loop load against one target; prints the table, returns the report paths."""
    from sage.benchmark.serving.report import aggregate, rich_table, write_report
    from sage.benchmark.serving.suite import run_suite, warm_up

    warm_up(endpoints)
    with Progress(console=console, transient=True) as progress:
        entries = run_suite(cfg, endpoints, output, progress)
    paths = write_report(output, f"sage bench serve: {label}", suite_config(cfg), entries,
                         cfg.victim)
    console.print(rich_table(aggregate(entries, cfg.victim), f"serving benchmark: {label}"))
    return paths


def run_compare(cfg: SuiteConfig, llm_url: str | None, embedding_url: str | None,
                gateway_url: str | None, gateway_mode: str, output: Path,
                console: Console) -> dict[str, Path]:
    """Siloed vs unified under each baseline, back to back (engines and gateway started
    here unless URLs are given); prints the table, returns the report paths."""
    from sage.benchmark.serving.environment import serving_endpoints
    from sage.benchmark.serving.report import aggregate, rich_table, write_report
    from sage.benchmark.serving.suite import run_suite, warm_up

    chosen = cfg.baselines
    need_gateway = any(b != "siloed" for b in chosen)
    first_policy = next((b.split("/", 1)[1] for b in chosen if b != "siloed"), "hybrid")
    with serving_endpoints(llm_url, embedding_url, gateway_url, need_gateway=need_gateway,
                           policy=first_policy, gateway_mode=gateway_mode) as endpoints:
        warm_up(endpoints)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            entries = run_suite(cfg, endpoints, output, progress)
    rows = aggregate(entries, cfg.victim)
    paths = write_report(output, "sage bench compare", suite_config(cfg), entries, cfg.victim)
    console.print(rich_table(rows, f"siloed vs unified (victim: {cfg.victim})"))
    return paths
