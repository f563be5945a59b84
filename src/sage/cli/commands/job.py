"""``sage job``: submit, list, inspect and stop jobs through the job manager."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

app = typer.Typer(help="Submit and manage jobs.", no_args_is_help=True)

_STATE: dict[str, Any] = {}
_COLORS = {"pending": "yellow", "running": "cyan", "succeeded": "green", "failed": "red",
           "stopped": "magenta"}


@app.callback()
def _job(
    url: str | None = typer.Option(None, "--url", envvar="SAGE_JOBMANAGER_URL",
                                   help="job manager URL (default http://127.0.0.1:19001)"),
    api_key: str | None = typer.Option(None, "--api-key", envvar="SAGE_JOBMANAGER_API_KEY",
                                       help="API key of the job manager"),
) -> None:
    """Submit and manage jobs."""
    _STATE["url"] = url
    _STATE["api_key"] = api_key


def _client() -> Any:
    from sage.common.config import get_settings
    from sage.kernel.jobmanager.client import JobManagerClient

    url = _STATE.get("url") or f"http://127.0.0.1:{get_settings().ports.job_manager}"
    return JobManagerClient(url, _STATE.get("api_key"))


def _run(fn: Any) -> Any:
    from rich.console import Console

    from sage.kernel.jobmanager.client import JobManagerError

    try:
        with _client() as client:
            return fn(client)
    except JobManagerError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def _status(job: dict[str, Any]) -> str:
    s = job["status"]
    return f"[{_COLORS.get(s, 'white')}]{s}[/]"


@app.command("submit", context_settings={"allow_extra_args": True,
                                         "ignore_unknown_options": True})
def submit(
    ctx: typer.Context,
    name: str | None = typer.Option(None, "--name", help="job name"),
    working_dir: str | None = typer.Option(None, "--working-dir", help="run the job here"),
    env: list[str] = typer.Option([], "--env", help="KEY=VALUE, repeatable"),
    resource: list[str] = typer.Option([], "--resource",
                                       help="NAME=AMOUNT for Ray jobs (num_gpus=1)"),
    limit: list[str] = typer.Option([], "--limit", help="NAME=N resource limit of a local "
                                    "job: memory_mb, cpu_s, open_files, processes, file_mb"),
) -> None:
    """Submit ENTRYPOINT: ``sage job submit [--name N] -- python my_pipeline.py``.

    ``python`` runs as the job manager's interpreter; ``--env`` values are kept only in
    the job's process (never stored, never shown)."""
    import os

    from rich.console import Console

    from sage.common.assignments import parse_assignments, parse_resources
    from sage.common.errors import ConfigError

    entrypoint = [a for a in ctx.args if a != "--"]
    if not entrypoint:
        Console(stderr=True).print("[red]error:[/red] missing entrypoint: "
                                   "sage job submit -- python my_pipeline.py")
        raise typer.Exit(2)
    try:
        envs = parse_assignments(env, "--env")
        resources = parse_resources(resource, "--resource")
        limits = {k: int(v) for k, v in parse_resources(limit, "--limit").items()}
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc
    wd = os.path.abspath(working_dir) if working_dir else os.getcwd()
    job = _run(lambda c: c.submit(entrypoint, name, wd, envs, resources, limits))
    Console().print(f"submitted [bold]{job['id']}[/bold] ({job['name']}): {_status(job)}")


@app.command("list")
def list_jobs() -> None:
    """All jobs in a table."""
    from rich.console import Console
    from rich.table import Table

    jobs = _run(lambda c: c.list())
    table = Table(title=f"{len(jobs)} jobs")
    table.add_column("id", no_wrap=True)
    for col in ("name", "status", "started", "ended", "exit"):
        table.add_column(col)
    table.add_column("entrypoint", overflow="fold")
    for j in jobs:
        table.add_row(j["id"], j["name"], _status(j), _when(j["started_at"]),
                      _when(j["ended_at"]),
                      "-" if j["exit_code"] is None else str(j["exit_code"]),
                      " ".join(j["entrypoint"]))
    Console().print(table)


@app.command("status")
def status(job_id: str = typer.Argument(..., help="job id")) -> None:
    """One job's details."""
    from rich.console import Console
    from rich.table import Table

    job = _run(lambda c: c.get(job_id))
    table = Table(show_header=False, title=job["id"])
    for key in ("name", "status", "backend", "entrypoint", "interpreter", "working_dir",
                "env", "submitted_at", "started_at", "ended_at", "exit_code", "pid",
                "resources", "limits", "log_path", "message"):
        value = job.get(key)
        if key == "status":
            text = _status(job)
        elif key.endswith("_at"):
            text = _when(value)
        elif key == "entrypoint":
            text = " ".join(value)
        else:
            text = "-" if value in (None, "", {}) else str(value)
        table.add_row(key, text)
    Console().print(table)


@app.command("logs")
def logs(job_id: str = typer.Argument(..., help="job id"),
         follow: bool = typer.Option(False, "--follow", "-f",
                                     help="stream until the job ends")) -> None:
    """Print a job's output."""
    import sys

    def show(client: Any) -> None:
        if follow:
            for chunk in client.follow(job_id):
                sys.stdout.write(chunk)
                sys.stdout.flush()
        else:
            offset = 0
            while True:  # pages of up to 1 MiB
                chunk = client.logs(job_id, offset)
                sys.stdout.write(chunk["data"])
                if not chunk["data"] or chunk["offset"] == offset:
                    break
                offset = chunk["offset"]

    _run(show)


@app.command("stop")
def stop(job_id: str = typer.Argument(..., help="job id")) -> None:
    """Stop a running job (SIGTERM to its process group, SIGKILL after 5 s)."""
    from rich.console import Console

    job = _run(lambda c: c.stop(job_id))
    Console().print(f"{job['id']}: {_status(job)}")


@app.command("delete")
def delete(job_id: str = typer.Argument(..., help="job id")) -> None:
    """Forget a finished job and its logs."""
    from rich.console import Console

    _run(lambda c: c.delete(job_id))
    Console().print(f"deleted {job_id}")
