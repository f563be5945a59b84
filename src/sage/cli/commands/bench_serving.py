"""``sage bench serve | compare | simulate | calibrate``: the serving benchmark (real
engines, siloed vs unified control plane) and its discrete-event simulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

app = typer.Typer()  # merged into `sage bench` by sage.cli.commands.bench


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"{what} must be comma-separated numbers, not {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise typer.BadParameter(f"{what} must be positive numbers")
    return values


def _output(path: Path | None, stem: str) -> Path:
    return path or Path("results") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def _workload(workload: Path | None, burstiness: float | None, llm_fraction: float | None) -> Any:
    from sage.benchmark.serving.workload import WorkloadSpec

    try:
        spec = WorkloadSpec.load(workload) if workload else WorkloadSpec.default()
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"workload {workload}: {exc}") from None
    update: dict[str, Any] = {}
    if burstiness is not None:
        update["burstiness"] = burstiness
    if llm_fraction is not None:
        update["llm_fraction"] = llm_fraction
    if update:
        spec = spec.model_copy(
            update={"tenants": [t.model_copy(update=update) for t in spec.tenants]}
        )
    return spec


def _trace(trace: Path | None, time_scale: float) -> Any:
    if trace is None:
        return None
    from sage.benchmark.serving.trace import TraceError, load_trace

    try:
        return load_trace(trace, time_scale)
    except TraceError as exc:
        raise typer.BadParameter(str(exc)) from None


def _print_paths(console: Any, paths: dict[str, Path]) -> None:
    for name, path in paths.items():
        console.print(f"  {name}: {path}")


WORKLOAD_OPT = typer.Option(None, "--workload", "-w", help="workload JSON (default: shipped)")
TRACE_OPT = typer.Option(None, "--trace", help="replay this JSONL/CSV trace instead")
TIME_SCALE_OPT = typer.Option(1.0, "--time-scale", help="trace: multiply timestamps by this")
BURST_OPT = typer.Option(
    None, "--burstiness", help="override every tenant's gamma shape (1 = Poisson, <1 bursty)"
)
LLM_FRACTION_OPT = typer.Option(None, "--llm-fraction", help="override every tenant's mix")
SEED_OPT = typer.Option(0, "--seed", help="workload seed (same for every baseline)")
CLIENT_OPT = typer.Option(
    "httpx", "--client", help="httpx (raw async HTTP) or openai (the official SDK)"
)


def _client(name: str) -> str:
    from sage.benchmark.serving.runner import CLIENTS

    if name not in CLIENTS:
        raise typer.BadParameter(f"--client must be one of {', '.join(CLIENTS)}, not {name!r}")
    return name


@app.command("serve")
def serve(
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI base URL serving both kinds (e.g. the gateway)"
    ),
    llm_url: str | None = typer.Option(None, "--llm-url", help="an LLM engine, called directly"),
    embedding_url: str | None = typer.Option(None, "--embedding-url"),
    rates: str = typer.Option("1", "--rates", "--rate", "-r", help="req/s, e.g. 1,2,4"),
    duration: float = typer.Option(30.0, "--duration", "-d", help="seconds of arrivals per run"),
    workload: Path | None = WORKLOAD_OPT,
    trace: Path | None = TRACE_OPT,
    time_scale: float = TIME_SCALE_OPT,
    burstiness: float | None = BURST_OPT,
    llm_fraction: float | None = LLM_FRACTION_OPT,
    seed: int = SEED_OPT,
    client: str = CLIENT_OPT,
    name: str | None = typer.Option(None, "--name", help="label of this target in the report"),
    api_key: str | None = typer.Option(None, "--api-key", envvar="SAGE_API_KEY"),
    drain_timeout: float = typer.Option(60.0, "--drain-timeout", help="s after the last send"),
    output: Path | None = typer.Option(None, "--output", "-o", help="report folder"),
) -> None:
    """Open-loop load (Poisson/gamma arrivals or a trace) against one OpenAI-compatible
    target; TTFT/TPOT/ITL/e2e percentiles, throughput, goodput and SLO attainment."""
    from rich.console import Console
    from rich.progress import Progress

    from sage.benchmark.serving.environment import Endpoints
    from sage.benchmark.serving.report import write_report
    from sage.benchmark.serving.suite import SuiteConfig, default_victim, run_suite, warm_up

    console = Console()
    if base_url is None and not (llm_url and embedding_url):
        raise typer.BadParameter("give --base-url, or both --llm-url and --embedding-url")
    spec = _workload(workload, burstiness, llm_fraction)
    label = name or ("siloed" if base_url is None else "target")
    endpoints = Endpoints(
        llm_url or base_url or "", embedding_url or base_url or "", base_url, api_key
    )
    baseline = "siloed" if base_url is None else label
    cfg = SuiteConfig(
        spec=spec,
        rates=_floats(rates, "--rates"),
        duration_s=duration,
        baselines=[baseline],
        seed=seed,
        victim=default_victim(spec),
        interference=False,
        drain_timeout_s=drain_timeout,
        trace=_trace(trace, time_scale),
        client=_client(client),
    )
    out = _output(output, "serve")
    warm_up(endpoints)
    with Progress(console=console, transient=True) as progress:
        entries = run_suite(cfg, endpoints, out, progress)
    paths = write_report(out, f"sage bench serve: {label}", _config(cfg), entries, cfg.victim)
    from sage.benchmark.serving.report import aggregate, rich_table

    console.print(rich_table(aggregate(entries, cfg.victim), f"serving benchmark: {label}"))
    _print_paths(console, paths)


def _config(cfg: Any) -> dict[str, Any]:
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


@app.command("compare")
def compare(
    llm_url: str | None = typer.Option(None, "--llm-url", help="use this running LLM engine"),
    embedding_url: str | None = typer.Option(None, "--embedding-url"),
    gateway_url: str | None = typer.Option(
        None, "--gateway-url", help="a running gateway over those engines (policy is switched)"
    ),
    baselines: str | None = typer.Option(
        None, "--baselines", "-b", help="siloed,unified/<policy>,... (default: all six + siloed)"
    ),
    rates: str = typer.Option(
        "auto", "--rates", "-r", help="req/s list, or 'auto' (from --levels x capacity)"
    ),
    levels: str = typer.Option(
        "0.4,0.8,1.3", "--levels", help="auto rates: fractions of the modelled capacity"
    ),
    duration: float = typer.Option(30.0, "--duration", "-d", help="seconds of arrivals per run"),
    repeats: int = typer.Option(1, "--repeats", help="runs per baseline and rate (medians)"),
    workload: Path | None = WORKLOAD_OPT,
    trace: Path | None = TRACE_OPT,
    time_scale: float = TIME_SCALE_OPT,
    burstiness: float | None = BURST_OPT,
    llm_fraction: float | None = LLM_FRACTION_OPT,
    seed: int = SEED_OPT,
    client: str = CLIENT_OPT,
    victim: str | None = typer.Option(
        None, "--victim", help="tenant whose interference is measured (default: most urgent)"
    ),
    interference: bool = typer.Option(
        True, "--interference/--no-interference", help="also run the victim alone"
    ),
    alone_per_baseline: bool = typer.Option(
        False, "--alone-per-baseline", help="victim-alone run under every baseline, not siloed"
    ),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="engine model for auto rates (default: shipped)"
    ),
    gateway_mode: str = typer.Option("process", "--gateway-mode", help="process or thread"),
    drain_timeout: float = typer.Option(60.0, "--drain-timeout"),
    output: Path | None = typer.Option(None, "--output", "-o", help="report folder"),
) -> None:
    """Siloed engines vs the unified control plane under each policy, back to back on
    the same workload; prints ratios to siloed and writes JSON, PNGs and an HTML report."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from sage.benchmark.serving.baselines import parse_baselines
    from sage.benchmark.serving.environment import serving_endpoints
    from sage.benchmark.serving.report import aggregate, rich_table, write_report
    from sage.benchmark.serving.suite import SuiteConfig, default_victim, run_suite, warm_up
    from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
    from sage.benchmark.simulator.profiles import Calibration

    console = Console()
    try:
        chosen = parse_baselines(baselines)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    spec = _workload(workload, burstiness, llm_fraction)
    if victim is not None and victim not in [t.name for t in spec.tenants]:
        raise typer.BadParameter(f"--victim {victim!r} is not a tenant of the workload")
    cal = Calibration.load(calibration)
    capacity = capacity_rate(spec, cal, ClusterSpec(1, 1))
    if rates == "auto":
        rate_list = [round(f * capacity, 3) for f in _floats(levels, "--levels")]
    else:
        rate_list = _floats(rates, "--rates")
    cfg = SuiteConfig(
        spec=spec,
        rates=rate_list,
        duration_s=duration,
        baselines=chosen,
        seed=seed,
        repeats=repeats,
        victim=victim or default_victim(spec),
        interference=interference,
        alone_per_baseline=alone_per_baseline,
        drain_timeout_s=drain_timeout,
        trace=_trace(trace, time_scale),
        client=_client(client),
        extra={"modelled_capacity_rps": capacity, "calibration": str(calibration or "default")},
    )
    out = _output(output, "compare")
    console.print(
        f"rates {rate_list} req/s (modelled capacity {capacity:.2f} req/s), "
        f"{len(chosen)} baselines, {duration:g}s each -> {out}"
    )
    need_gateway = any(b != "siloed" for b in chosen)
    first_policy = next((b.split("/", 1)[1] for b in chosen if b != "siloed"), "hybrid")
    with serving_endpoints(
        llm_url,
        embedding_url,
        gateway_url,
        need_gateway=need_gateway,
        policy=first_policy,
        gateway_mode=gateway_mode,
    ) as endpoints:
        warm_up(endpoints)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            entries = run_suite(cfg, endpoints, out, progress)
    rows = aggregate(entries, cfg.victim)
    paths = write_report(out, "sage bench compare", _config(cfg), entries, cfg.victim)
    console.print(rich_table(rows, f"siloed vs unified (victim: {cfg.victim})"))
    _print_paths(console, paths)


@app.command("simulate")
def simulate_cmd(
    engines: int | None = typer.Option(
        None, "--engines", "-e", help="total engines, split between kinds by modelled work"
    ),
    llm_engines: int = typer.Option(1, "--llm-engines"),
    embedding_engines: int = typer.Option(1, "--embedding-engines"),
    colocate: bool | None = typer.Option(
        None, "--colocate/--no-colocate", help="LLM+embedding engine pairs share a host's CPU"
    ),
    embedding_capacity: int | None = typer.Option(
        None,
        "--embedding-capacity",
        help="calls the gateway sends each embedding engine at once (default: as `sage llm "
        "serve` registers them)",
    ),
    speedup: float = typer.Option(1.0, "--speedup", help="engine speed vs the calibration"),
    llm_capacity: int | None = typer.Option(
        None, "--llm-capacity", help="concurrent sequences per LLM engine (continuous batching)"
    ),
    batch_slowdown: float | None = typer.Option(
        None, "--batch-slowdown", help="per extra running sequence (with --llm-capacity)"
    ),
    baselines: str | None = typer.Option(None, "--baselines", "-b"),
    rates: str | None = typer.Option(None, "--rates", "-r", help="req/s list"),
    utilization: str = typer.Option(
        "0.5,0.8,1.1", "--utilization", "-u", help="rates as fractions of modelled capacity"
    ),
    requests: int | None = typer.Option(None, "--requests", "-n", help="requests per run"),
    duration: float = typer.Option(600.0, "--duration", "-d", help="simulated s per run"),
    workload: Path | None = WORKLOAD_OPT,
    trace: Path | None = TRACE_OPT,
    time_scale: float = TIME_SCALE_OPT,
    burstiness: float | None = BURST_OPT,
    llm_fraction: float | None = LLM_FRACTION_OPT,
    seed: int = SEED_OPT,
    calibration: Path | None = typer.Option(None, "--calibration", help="default: shipped"),
    exact: bool = typer.Option(False, "--exact", help="call schedule after every event"),
    max_queue: int = typer.Option(
        1024, "--max-queue", min=1, help="unified: requests the control plane queues (429 beyond)"
    ),
    validate: list[Path] = typer.Option(
        [], "--validate", help="real run JSON(s) or a compare folder: replay and compare"
    ),
    tolerance: float = typer.Option(0.2, "--tolerance", help="--validate: allowed rel. error"),
    own_speed: bool = typer.Option(
        False, "--own-speed", help="--validate: LLM at each run's measured decode speed (drift)"
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="report folder"),
) -> None:
    """Discrete-event simulation of the same policies over calibrated engine models:
    cluster sizes, GPU-class speeds (--speedup) and traffic shapes beyond this machine."""
    from rich.console import Console

    from sage.benchmark.simulator.profiles import Calibration

    console = Console()
    cal = Calibration.load(calibration)
    if validate:
        _validate(console, validate, cal, tolerance, output, own_speed)
        return
    from sage.benchmark.serving.baselines import parse_baselines
    from sage.benchmark.serving.report import aggregate, rich_table, write_report
    from sage.benchmark.serving.suite import default_victim
    from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
    from sage.benchmark.simulator.suite import SimSuiteConfig, run_sim_suite
    from sage.llm.engines.spec import DEFAULT_EMBEDDING_CAPACITY

    spec = _workload(workload, burstiness, llm_fraction)
    cal = cal.scaled(speedup, llm_capacity=llm_capacity, batch_slowdown=batch_slowdown)
    embedding_capacity = embedding_capacity or DEFAULT_EMBEDDING_CAPACITY
    if engines is not None:
        cluster = ClusterSpec.split(
            engines, spec, cal, colocate=bool(colocate), embedding_capacity=embedding_capacity
        )
    else:
        both = llm_engines + embedding_engines == 2
        cluster = ClusterSpec(
            llm_engines,
            embedding_engines,
            both if colocate is None else colocate,
            embedding_capacity,
        )
    capacity = capacity_rate(spec, cal, cluster)
    rate_list = (
        _floats(rates, "--rates")
        if rates
        else [round(u * capacity, 4) for u in _floats(utilization, "--utilization")]
    )
    try:
        chosen = parse_baselines(baselines)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    cfg = SimSuiteConfig(
        spec=spec,
        calibration=cal,
        cluster=cluster,
        rates=rate_list,
        baselines=chosen,
        requests=requests,
        duration_s=None if requests else duration,
        seed=seed,
        victim=default_victim(spec),
        exact=exact,
        trace=_trace(trace, time_scale),
        max_queue=max_queue,
    )
    console.print(
        f"{cluster.llm_engines} LLM + {cluster.embedding_engines} embedding engines"
        f"{' (colocated)' if cluster.colocate else ''}, speedup {speedup:g}, "
        f"modelled capacity {capacity:.2f} req/s, rates {rate_list}"
    )

    def on_result(result: Any, rate: float, alone: bool) -> None:
        console.print(
            f"  {result.baseline:<22} @ {rate:g}/s{' (victim alone)' if alone else ''}: "
            f"{result.requests} requests, {result.events} events in {result.wall_s:.2f}s"
        )

    entries = run_sim_suite(cfg, on_result)
    out = _output(output, "simulate")
    config = {
        "cluster": cluster.__dict__,
        "calibration": cal.model_dump(),
        "rates": rate_list,
        "modelled_capacity_rps": capacity,
        "requests": requests,
        "duration_s": None if requests else duration,
        "seed": seed,
        "max_queue": max_queue,
        "workload": spec.model_dump(),
    }
    paths = write_report(out, "sage bench simulate", config, entries, cfg.victim)
    console.print(rich_table(aggregate(entries, cfg.victim), "simulated: siloed vs unified"))
    _print_paths(console, paths)


def _run_files(sources: list[Path], *, alone: bool) -> list[Path]:
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


def _validate(
    console: Any,
    sources: list[Path],
    cal: Any,
    tolerance: float,
    output: Path | None,
    own_speed: bool,
) -> None:
    from rich.table import Table

    from sage.benchmark.simulator.validate import median_error, repeat_agreement, validate_run

    files = _run_files(sources, alone=False)
    if not files:
        raise typer.BadParameter("no run files to validate")
    table = Table(title=f"simulation vs real (tolerance {tolerance:.0%})")
    for col in ("run", "kind", "metric", "pct", "real ms", "real 90% CI", "sim ms", "error"):
        table.add_column(col, justify="left" if col in ("run", "kind", "metric") else "right")
    results = []
    for path in files:
        v = validate_run(path, cal, tolerance, own_speed)
        results.append(v)
        for row in v.rows:
            err = "-" if row.error is None else f"{row.error:.0%}{'' if row.gated else ' (info)'}"
            table.add_row(
                path.stem,
                row.kind,
                row.metric,
                row.percentile,
                "-" if row.real_ms is None else f"{row.real_ms:.0f}",
                "-" if row.real_ci_ms is None else "{:.0f}-{:.0f}".format(*row.real_ci_ms),
                "-" if row.sim_ms is None else f"{row.sim_ms:.0f}",
                err,
            )
    console.print(table)
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


@app.command("calibrate")
def calibrate_cmd(
    llm_url: str | None = typer.Option(None, "--llm-url", help="use this running LLM engine"),
    embedding_url: str | None = typer.Option(None, "--embedding-url"),
    gateway_url: str | None = typer.Option(
        None, "--gateway-url", help="measure the gateway hop too (started with own engines)"
    ),
    repeats: int = typer.Option(3, "--repeats", help="calls per measured point"),
    from_run: list[Path] = typer.Option(
        [], "--from-run", help="re-fit the speeds of --calibration to these run JSONs instead"
    ),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="--from-run: the model to re-fit (default: shipped)"
    ),
    tune: str = typer.Option(
        "all",
        "--tune",
        help="--from-run: contention factors chosen by replaying the runs (all, embedding, "
        "none); the others stay as measured",
    ),
    output: Path = typer.Option(
        Path("results/calibration.json"), "--output", "-o", help="calibration JSON to write"
    ),
) -> None:
    """Measure the real engines (prefill/decode rates, embedding batch curve, CPU
    contention, gateway hop) and write the simulator's engine model as JSON. With
    --from-run, re-fit the model's speeds to a benchmark run's requests instead (the
    speeds engines reach while the load generator and gateway share the machine)."""
    import asyncio

    from rich.console import Console

    from sage.benchmark.serving.environment import serving_endpoints
    from sage.benchmark.simulator.calibrate import CalibrationError, calibrate

    console = Console()
    if from_run:
        cal = _refit(console, from_run, calibration, tune)
        _print_calibration(console, cal, cal.save(output))
        return
    own = llm_url is None and embedding_url is None
    with (
        serving_endpoints(
            llm_url, embedding_url, gateway_url, need_gateway=own, gateway_mode="process"
        ) as endpoints,
        console.status("calibrating") as status,
    ):
        try:
            cal = asyncio.run(
                calibrate(
                    endpoints.llm_url,
                    endpoints.embedding_url,
                    gateway_url=endpoints.gateway_url,
                    repeats=repeats,
                    tick=lambda step: status.update(f"calibrating: {step}"),
                )
            )
        except CalibrationError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
    _print_calibration(console, cal, cal.save(output))


def _refit(console: Any, paths: list[Path], base: Path | None, tune: str) -> Any:
    from sage.benchmark.simulator.profiles import Calibration
    from sage.benchmark.simulator.refit import TUNE_CHOICES, refit

    if tune not in TUNE_CHOICES:
        raise typer.BadParameter(f"--tune: one of {', '.join(TUNE_CHOICES)}, not {tune!r}")

    files = _run_files(paths, alone=True)
    missing = [f for f in files if not f.is_file()]
    if not files or missing:
        console.print(f"[red]--from-run: no run JSON at {missing or paths}[/red]")
        raise typer.Exit(2)
    runs = [json.loads(f.read_text()) for f in files]
    cal = refit(Calibration.load(base), runs, [str(f) for f in files], TUNE_CHOICES[tune])
    counts = cal.source["refit"]["samples"]
    console.print(f"re-fitted on {len(files)} run(s): {counts}")
    return cal


def _print_calibration(console: Any, cal: Any, output: Path) -> None:
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
