"""``sage jobmanager``: run the job manager service."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Run the job manager service.", no_args_is_help=True)


@app.callback()
def _jobmanager() -> None:
    """Run the job manager service."""


@app.command("start")
def start(
    host: str = typer.Option("127.0.0.1", "--host", help="bind address (an API key is "
                             "required beyond 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="port (SagePorts.job_manager, "
                                    "19001 by default)"),
    api_key: str | None = typer.Option(None, "--api-key", envvar="SAGE_JOBMANAGER_API_KEY",
                                       help="require this key (Authorization: Bearer K)"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="job table and logs "
                                         "(default: ~/.sage/jobmanager)"),
    ray_address: str | None = typer.Option(
        None, "--ray-address", envvar="SAGE_JOBMANAGER_RAY_ADDRESS",
        help="Ray job server (dashboard) address, e.g. http://127.0.0.1:8265; jobs run "
             "as local process groups without it"),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level"),
) -> None:
    """Serve the job manager API until Ctrl-C (jobs keep running across restarts)."""
    import uvicorn
    from rich.console import Console

    from sage.common.config import get_settings
    from sage.common.http_server import uvicorn_options
    from sage.common.ports import is_port_free
    from sage.kernel.jobmanager.manager import JobManager
    from sage.kernel.jobmanager.server import create_app, require_key_for

    console = Console(stderr=True)
    settings = get_settings()
    try:
        require_key_for(host, api_key, settings.security.min_key_length)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    port = port or settings.ports.job_manager
    if not is_port_free(port, host):
        console.print(f"[red]error: port {port} on {host} is already in use[/red]")
        raise typer.Exit(1)
    manager = JobManager(data_dir or settings.home / "jobmanager", ray_address)
    console.print(f"job manager on http://{host}:{port} (data: {manager.data_dir}, "
                  f"backend: {'ray ' + ray_address if ray_address else 'local'})")
    try:
        uvicorn.run(
            create_app(manager, api_key),
            host=host,
            port=port,
            log_level=log_level,
            **uvicorn_options(),
        )
    finally:
        manager.shutdown()
