"""The orchestration behind ``sage bench simulate`` and ``sage bench calibrate``: one
``run_*`` function per command. The CLI only parses options into these arguments and
prints; a bad argument is a :class:`~sage.common.errors.ConfigError`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sage.benchmark.serving.workload import Workload, WorkloadSpec
from sage.benchmark.simulator.profiles import Calibration
from sage.common.errors import ConfigError


@dataclass
class SimulateOptions:
    """Everything ``sage bench simulate`` varies (its options, parsed)."""

    spec: WorkloadSpec
    calibration: Calibration
    engines: int | None = None
    llm_engines: int = 1
    embedding_engines: int = 1
    colocate: bool | None = None
    embedding_capacity: int | None = None
    speedup: float = 1.0
    llm_capacity: int | None = None
    batch_slowdown: float | None = None
    baselines: str | None = None
    rates: list[float] | None = None
    utilization: list[float] = field(default_factory=lambda: [0.5, 0.8, 1.1])
    requests: int | None = None
    duration_s: float = 600.0
    seed: int = 0
    exact: bool = False
    trace: Workload | None = None
    max_queue: int = 1024


def run_simulate(opts: SimulateOptions, output: Path, console: Console) -> dict[str, Path]:
    """Simulate every baseline at every rate, print the summary table and write the
    same report as ``bench compare``; returns the report's paths."""
    from sage.benchmark.serving.baselines import parse_baselines
    from sage.benchmark.serving.report import aggregate, rich_table, write_report
    from sage.benchmark.serving.suite import default_victim
    from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
    from sage.benchmark.simulator.suite import SimSuiteConfig, run_sim_suite
    from sage.llm.engines.spec import DEFAULT_EMBEDDING_CAPACITY

    spec = opts.spec
    cal = opts.calibration.scaled(opts.speedup, llm_capacity=opts.llm_capacity,
                                  batch_slowdown=opts.batch_slowdown)
    embedding_capacity = opts.embedding_capacity or DEFAULT_EMBEDDING_CAPACITY
    if opts.engines is not None:
        cluster = ClusterSpec.split(opts.engines, spec, cal, colocate=bool(opts.colocate),
                                    embedding_capacity=embedding_capacity)
    else:
        both = opts.llm_engines + opts.embedding_engines == 2
        cluster = ClusterSpec(opts.llm_engines, opts.embedding_engines,
                              both if opts.colocate is None else opts.colocate,
                              embedding_capacity)
    capacity = capacity_rate(spec, cal, cluster)
    rate_list = opts.rates or [round(u * capacity, 4) for u in opts.utilization]
    try:
        chosen = parse_baselines(opts.baselines)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    duration = None if opts.requests else opts.duration_s
    cfg = SimSuiteConfig(
        spec=spec, calibration=cal, cluster=cluster, rates=rate_list, baselines=chosen,
        requests=opts.requests, duration_s=duration, seed=opts.seed,
        victim=default_victim(spec), exact=opts.exact, trace=opts.trace,
        max_queue=opts.max_queue,
    )
    console.print(
        f"{cluster.llm_engines} LLM + {cluster.embedding_engines} embedding engines"
        f"{' (colocated)' if cluster.colocate else ''}, speedup {opts.speedup:g}, "
        f"modelled capacity {capacity:.2f} req/s, rates {rate_list}"
    )

    def on_result(result: Any, rate: float, alone: bool) -> None:
        console.print(
            f"  {result.baseline:<22} @ {rate:g}/s{' (victim alone)' if alone else ''}: "
            f"{result.requests} requests, {result.events} events in {result.wall_s:.2f}s"
        )

    with _progress(console) as progress:
        entries = run_sim_suite(cfg, on_result, progress)
    config = {
        "cluster": cluster.__dict__,
        "calibration": cal.model_dump(),
        "rates": rate_list,
        "modelled_capacity_rps": capacity,
        "requests": opts.requests,
        "duration_s": duration,
        "seed": opts.seed,
        "max_queue": opts.max_queue,
        "workload": spec.model_dump(),
    }
    paths = write_report(output, "sage bench simulate", config, entries, cfg.victim)
    console.print(rich_table(aggregate(entries, cfg.victim), "simulated: siloed vs unified"))
    return paths


@contextmanager
def _progress(console: Console) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar for the run in flight (long runs: 1M requests take tens of
    seconds); nothing when the console is not a terminal."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("simulating", total=None)

        def update(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        yield update


def run_files(sources: list[Path], *, alone: bool) -> list[Path]:
    """Run JSONs named directly or in a compare folder's ``runs/`` (with or without the
    victim-alone runs)."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            found = sorted((source / "runs").glob("*.json"))
            files += [p for p in found if alone or "_alone" not in p.name]
        else:
            files.append(source)
    return files


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def run_validation(sources: list[Path], cal: Calibration, tolerance: float,
                   output: Path | None, own_speed: bool, console: Console,
                   cache_mb: float | None = None, kv_bytes_per_token: int | None = None) -> None:
    """Replay real runs in the simulator, print simulated vs real per figure and the
    summary (and write ``validation.json`` into ``output`` when given). ``cache_mb``: the
    engines' prefix cache for runs that did not record theirs."""
    from sage.benchmark.simulator.validate import (
        HIT_RATE,
        CacheModel,
        median_error,
        repeat_agreement,
        validate_run,
    )

    cache = CacheModel(cache_mb) if kv_bytes_per_token is None else CacheModel(
        cache_mb, kv_bytes_per_token)  # fmt: skip

    files = run_files(sources, alone=False)
    if not files:
        raise ConfigError("no run files to validate")
    table = Table(title=f"simulation vs real (tolerance {tolerance:.0%})")
    for col in ("run", "kind", "metric", "pct", "real ms", "real 90% CI", "sim ms", "error"):
        table.add_column(col, justify="left" if col in ("run", "kind", "metric") else "right")
    results = []
    for path in files:
        v = validate_run(path, cal, tolerance, own_speed, cache)
        results.append(v)
        for row in v.rows:
            err = "-" if row.error is None else f"{row.error:.0%}{'' if row.gated else ' (info)'}"
            ci = "-" if row.real_ci_ms is None else "{:.0f}-{:.0f}".format(*row.real_ci_ms)
            spec = ".3f" if row.metric == HIT_RATE else ".0f"  # a fraction, not ms
            table.add_row(path.stem, row.kind, row.metric, row.percentile,
                          _fmt(row.real_ms, spec), ci, _fmt(row.sim_ms, spec), err)
    console.print(table)
    _print_prefix_runs(console, files, results)
    passed = sum(v.passed for v in results)
    median = median_error(results)
    gated = [r for v in results for r in v.rows if r.gated and r.error is not None]
    within = sum(r.error <= tolerance for r in gated)
    noise = sum(r.error > tolerance and r.within_noise for r in gated)
    console.print(
        f"{passed}/{len(results)} runs within {tolerance:.0%} on e2e p50/p99 per kind; "
        f"figures {within}/{len(gated)} ({noise} more inside the real figure's 90% "
        f"interval); median error {'-' if median is None else f'{median:.1%}'}"
    )
    agree, repeated = repeat_agreement(results)
    if repeated:
        console.print(
            f"repeated real runs (same baseline, rate and seed) agree with each other within "
            f"{tolerance:.0%} on {agree}/{repeated} figures (this machine's run-to-run noise)"
        )
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        summary = {
            "median_error": median,
            "repeat_agreement": {"within": agree, "compared": repeated},
            "runs": [v.to_dict() for v in results],
        }
        (output / "validation.json").write_text(json.dumps(summary, indent=1))
        console.print(f"  validation: {output / 'validation.json'}")


def _print_prefix_runs(console: Console, files: list[Path], results: list[Any]) -> None:
    """Runs with a prefix hit rate, one line each: hit rate and TTFT, real / simulated."""
    lines = Table(title="prefix-cache runs: real / simulated")
    for col in ("run", "hit rate", "TTFT p50 s", "TTFT p99 s"):
        lines.add_column(col, justify="left" if col == "run" else "right")
    for path, v in zip(files, results, strict=True):
        rows = {(r.metric, r.percentile): r for r in v.rows if r.kind == "llm"}
        hit = rows.get(("prefix_hit_rate", "-"))
        if hit is None:
            continue
        cells = [f"{_fmt(hit.real_ms, '.3f')} / {_fmt(hit.sim_ms, '.3f')}"]
        for pct in ("p50", "p99"):
            r = rows[("ttft_ms", pct)]
            real, sim = (None if x is None else x / 1000 for x in (r.real_ms, r.sim_ms))
            cells.append(f"{_fmt(real, '.2f')} / {_fmt(sim, '.2f')}")
        lines.add_row(path.stem, *cells)
    if lines.row_count:
        console.print(lines)


def run_refit(paths: list[Path], base: Path | None, tune: str, output: Path,
              console: Console) -> Path:
    """Re-fit the speeds of the ``base`` calibration to benchmark run JSONs; writes and
    prints the model. A missing run file is a :class:`FileNotFoundError`."""
    from sage.benchmark.simulator.refit import TUNE_CHOICES, refit

    if tune not in TUNE_CHOICES:
        raise ConfigError(f"--tune: one of {', '.join(TUNE_CHOICES)}, not {tune!r}")
    files = run_files(paths, alone=True)
    missing = [f for f in files if not f.is_file()]
    if not files or missing:
        raise FileNotFoundError(f"--from-run: no run JSON at {missing or paths}")
    runs = [json.loads(f.read_text()) for f in files]
    cal = refit(Calibration.load(base), runs, [str(f) for f in files], TUNE_CHOICES[tune])
    console.print(f"re-fitted on {len(files)} run(s): {cal.source['refit']['samples']}")
    return print_calibration(console, cal, cal.save(output))


def run_calibrate(llm_url: str | None, embedding_url: str | None, gateway_url: str | None,
                  repeats: int, output: Path, console: Console) -> Path:
    """Measure the engines (own ones unless URLs are given) and write the simulator's
    engine model; raises ``CalibrationError`` when a measurement fails."""
    from sage.benchmark.serving.environment import serving_endpoints
    from sage.benchmark.simulator.calibrate import calibrate

    own = llm_url is None and embedding_url is None
    with (
        serving_endpoints(
            llm_url, embedding_url, gateway_url, need_gateway=own, gateway_mode="process"
        ) as endpoints,
        console.status("calibrating") as status,
    ):
        tick: Callable[[str], None] = lambda step: status.update(f"calibrating: {step}")  # noqa: E731
        cal = asyncio.run(
            calibrate(endpoints.llm_url, endpoints.embedding_url,
                      gateway_url=endpoints.gateway_url, repeats=repeats, tick=tick)
        )
    return print_calibration(console, cal, cal.save(output))


def print_calibration(console: Console, cal: Calibration, output: Path) -> Path:
    llm, emb, con = cal.llm, cal.embedding, cal.contention
    console.print(
        f"LLM: prefill {llm.prefill_tokens_per_s:.1f} tok/s, decode "
        f"{llm.decode_tokens_per_s:.1f} tok/s, TTFT intercept {llm.ttft_overhead_s * 1000:.0f} "
        f"ms, template {llm.template_tokens:.0f} tokens\n"
        f"embedding: {emb.fixed_s * 1000:.1f} ms + {emb.per_item_s * 1000:.2f} ms/item + "
        f"{emb.per_token_s * 1000:.3f} ms/token\n"
        f"contention: LLM decode at {con.llm_speed:.2f}x, prefill at "
        f"{con.llm_prefill_speed or con.llm_speed:.2f}x, embedding at {con.embedding_speed:.2f}x "
        f"while the other engine is busy; gateway hop {cal.gateway_overhead_s * 1000:.1f} ms\n"
        f"written to {output}"
    )
    return output
