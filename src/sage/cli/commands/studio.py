"""``sage studio``: the web UI over the gateway, the job manager and benchmark results."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="SAGE Studio: watch and drive the control plane, jobs and "
                       "benchmarks in a browser.", no_args_is_help=True)


@app.callback()
def _studio() -> None:
    """SAGE Studio web UI."""


@app.command("start")
def start(
    gateway_url: str | None = typer.Option(
        None, "--gateway-url", help="gateway to watch (default: the local one, port 8888)"),
    jobmanager_url: str | None = typer.Option(
        None, "--jobmanager-url", help="job manager (default: the local one, port 19001)"),
    results_dir: Path = typer.Option(Path("results"), "--results-dir",
                                     help="benchmark result folders to browse"),
    host: str = typer.Option("127.0.0.1", "--host", help="bind address (loopback only)"),
    port: int | None = typer.Option(None, "--port", help="port (SagePorts.studio, 5173)"),
    slo_ms: float = typer.Option(1000.0, "--slo-ms",
                                 help="latency target for the SLO-attainment chart"),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level"),
) -> None:
    """Serve the studio until Ctrl-C."""
    from rich.console import Console

    from sage.common.config import get_settings
    from sage.common.errors import ConfigError
    from sage.studio.config import StudioConfig
    from sage.studio.server import check_host, serve

    console = Console(stderr=True)
    ports = get_settings().ports
    config = StudioConfig(results_dir=results_dir, slo_ms=slo_ms,
                          gateway_url=gateway_url or f"http://127.0.0.1:{ports.gateway}",
                          jobmanager_url=jobmanager_url
                          or f"http://127.0.0.1:{ports.job_manager}")
    try:
        check_host(host)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    port = port or ports.studio
    console.print(f"SAGE Studio on http://{host}:{port}  (gateway {config.gateway_url}, "
                  f"job manager {config.jobmanager_url}, results {results_dir})")
    try:
        serve(config, host, port, log_level)
    except KeyboardInterrupt:
        pass
