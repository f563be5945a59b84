"""``sage bench serve | compare | simulate | calibrate``: the serving benchmark (real
engines, siloed vs unified control plane) and its discrete-event simulator. Each command
parses its options and calls one ``run_*`` function of ``sage.benchmark.serving.run`` or
``sage.benchmark.simulator.run``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from sage.common.errors import ConfigError

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


WORKLOAD_OPT = typer.Option(
    None, "--workload", "-w", help="workload JSON or a shipped name: shared-prefix, multi-turn"
)
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

    from sage.benchmark.serving.environment import Endpoints
    from sage.benchmark.serving.run import run_serve
    from sage.benchmark.serving.suite import SuiteConfig, default_victim

    if base_url is None and not (llm_url and embedding_url):
        raise typer.BadParameter("give --base-url, or both --llm-url and --embedding-url")
    spec = _workload(workload, burstiness, llm_fraction)
    label = name or ("siloed" if base_url is None else "target")
    endpoints = Endpoints(
        llm_url or base_url or "", embedding_url or base_url or "", base_url, api_key
    )
    cfg = SuiteConfig(
        spec=spec,
        rates=_floats(rates, "--rates"),
        duration_s=duration,
        baselines=["siloed" if base_url is None else label],
        seed=seed,
        victim=default_victim(spec),
        interference=False,
        drain_timeout_s=drain_timeout,
        trace=_trace(trace, time_scale),
        client=_client(client),
    )
    console = Console()
    _print_paths(console, run_serve(cfg, endpoints, label, _output(output, "serve"), console))


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
    warmup: float = typer.Option(
        0.0, "--warmup", help="seconds of arrivals sent but not measured (caches warm up)"
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="report folder"),
) -> None:
    """Siloed engines vs the unified control plane under each policy, back to back on
    the same workload; prints ratios to siloed and writes JSON, PNGs and an HTML report."""
    from rich.console import Console

    from sage.benchmark.serving.baselines import parse_baselines
    from sage.benchmark.serving.run import run_compare
    from sage.benchmark.serving.suite import SuiteConfig, default_victim
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
    capacity = capacity_rate(spec, Calibration.load(calibration), ClusterSpec(1, 1))
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
        warmup_s=warmup,
        trace=_trace(trace, time_scale),
        client=_client(client),
        extra={"modelled_capacity_rps": capacity, "calibration": str(calibration or "default")},
    )
    out = _output(output, "compare")
    console.print(
        f"rates {rate_list} req/s (modelled capacity {capacity:.2f} req/s), "
        f"{len(chosen)} baselines, {duration:g}s each -> {out}"
    )
    paths = run_compare(cfg, llm_url, embedding_url, gateway_url, gateway_mode, out, console)
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
        False, "--own-speed",
        help="--validate: LLM at each run's measured decode and cold-prefill speed (drift)",
    ),
    prefix_cache_mb: float | None = typer.Option(
        None, "--prefix-cache-mb",
        help="--validate: engines' prefix cache for runs that did not record theirs",
    ),
    kv_bytes_per_token: int | None = typer.Option(
        None, "--kv-bytes-per-token", help="--validate: the model's KV size (SmolLM2: 23040)"
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="report folder"),
) -> None:
    """Discrete-event simulation of the same policies over calibrated engine models:
    cluster sizes, GPU-class speeds (--speedup) and traffic shapes beyond this machine."""
    from rich.console import Console

    from sage.benchmark.simulator.profiles import Calibration
    from sage.benchmark.simulator.run import SimulateOptions, run_simulate, run_validation

    console = Console()
    cal = Calibration.load(calibration)
    try:
        if validate:
            run_validation(validate, cal, tolerance, output, own_speed, console,
                           prefix_cache_mb, kv_bytes_per_token)
            return
        opts = SimulateOptions(
            spec=_workload(workload, burstiness, llm_fraction), calibration=cal,
            engines=engines, llm_engines=llm_engines, embedding_engines=embedding_engines,
            colocate=colocate, embedding_capacity=embedding_capacity, speedup=speedup,
            llm_capacity=llm_capacity, batch_slowdown=batch_slowdown, baselines=baselines,
            rates=_floats(rates, "--rates") if rates else None,
            utilization=[] if rates else _floats(utilization, "--utilization"),
            requests=requests,
            duration_s=duration, seed=seed, exact=exact, trace=_trace(trace, time_scale),
            max_queue=max_queue,
        )
        _print_paths(console, run_simulate(opts, _output(output, "simulate"), console))
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None


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
    from rich.console import Console

    from sage.benchmark.simulator.calibrate import CalibrationError
    from sage.benchmark.simulator.run import run_calibrate, run_refit

    console = Console()
    if from_run:
        try:
            run_refit(from_run, calibration, tune, output, console)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc)) from None
        except FileNotFoundError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        return
    try:
        run_calibrate(llm_url, embedding_url, gateway_url, repeats, output, console)
    except CalibrationError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
