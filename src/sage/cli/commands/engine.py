"""``sage engine``: start, stop, list and tail managed engines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sage.llm.engine_manager import EngineManager
    from sage.llm.engines.spec import EngineSpec, RayPlacement

app = typer.Typer(help="Manage serving engines.", no_args_is_help=True)

BACKENDS = ("llama_cpp", "sentence_transformers", "fake", "external", "vllm")  # built-ins, for --help


def _manager() -> EngineManager:
    from sage.llm.engine_manager import EngineManager

    return EngineManager(detach=True)  # CLI engines outlive the command


@app.command("start")
def start(
    backend: str | None = typer.Option(
        None, "--backend", "-b", help=f"one of {', '.join(BACKENDS)} (default: from --kind)"
    ),
    kind: str | None = typer.Option(
        None, "--kind", "-k", help="llm, embedding (or both: fake/external engines)"
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="model name or path (default: the embedded model)"
    ),
    model_path: str | None = typer.Option(None, "--model-path", help="GGUF file or model folder"),
    url: str | None = typer.Option(None, "--url", help="external engine's URL"),
    port: int | None = typer.Option(None, "--port", "-p", help="default: next free from 8001/8090"),
    host: str = typer.Option("127.0.0.1", "--host", help="bind address"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda:N"),
    capacity: int = typer.Option(1, "--capacity", help="max concurrent requests"),
    max_batch: int = typer.Option(64, "--max-batch", help="max inputs per embedding batch"),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="SAGE_ENGINE_API_KEY", help="key the engine requires/uses"
    ),
    engine_id: str | None = typer.Option(None, "--id", help="engine id (default: kind-N)"),
    timeout: float = typer.Option(180.0, "--timeout", help="seconds to wait for /health"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="print the command (and placement) that would run, start nothing"
    ),
    ray: bool = typer.Option(
        False, "--ray", help="run it in a Ray actor on a cluster node (see --resource)"
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="with --ray: auto, HOST:6379 or ray://HOST:10001 "
        "(default: RAY_ADDRESS, else the running cluster)"
    ),
    resource: list[str] = typer.Option(
        [], "--resource", help="with --ray: NAME=AMOUNT its actor holds (num_gpus=1, "
        "gpu_node=1); repeatable"
    ),
    scheduler: str = typer.Option(
        "default", "--scheduler", help="with --ray: default, spread, pack or load_aware"
    ),
    replicas: int = typer.Option(
        1, "--replicas", min=1, help="start N engines of this spec (cores split between them)"
    ),
) -> None:
    """Start an engine in the background (embedded default models when none is named)."""
    from rich.console import Console

    from sage.common.errors import ResourceUnavailableError, SageError
    from sage.llm.engines.backends import ENGINE_BACKENDS
    from sage.llm.engines.launch import default_backend
    from sage.llm.engines.replicas import replica_specs
    from sage.llm.engines.spec import EngineSpec

    console = Console(stderr=True)
    if backend is None:
        backend = "external" if url else default_backend(kind or "llm")
    if backend not in ENGINE_BACKENDS:  # plug-ins registered there are accepted too
        raise typer.BadParameter(f"--backend must be one of {', '.join(ENGINE_BACKENDS)}")
    kind = kind or ENGINE_BACKENDS.get(backend).default_kind
    placement = _placement(ray, ray_address, resource, scheduler)
    try:
        spec = EngineSpec(
            kind=kind,  # type: ignore[arg-type]
            backend=backend,  # type: ignore[arg-type]
            model=model or "",
            model_path=model_path,  # type: ignore[arg-type]
            url=url,
            port=port,
            host=host,
            device=device,
            capacity=capacity,
            max_batch=max_batch,
            api_key=api_key,
            placement=placement,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if dry_run:
        _print_command(spec)
        return
    specs = [spec]
    if replicas > 1:
        if engine_id:
            raise typer.BadParameter("--id names one engine; leave it out with --replicas")
        try:
            specs = replica_specs(spec, replicas)  # cores split between them
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    manager = _manager()
    manager.start_timeout = timeout
    for one in specs:
        try:
            with console.status(f"starting a {backend} {kind} engine (waiting for /health)..."):
                info = manager.start(one, engine_id=engine_id)
        except ResourceUnavailableError as exc:  # bad input: the cluster can never host it
            console.print(f"[red]engine cannot be placed:[/red] {exc}")
            raise typer.Exit(2) from exc
        except SageError as exc:
            console.print(f"[red]engine failed to start:[/red] {exc}")
            raise typer.Exit(1) from exc
        where = f" on Ray node {info.ray.node_ip}" if info.ray else ""
        console.print(
            f"[green]engine {info.id}[/green] ({info.backend}, {info.kind}, model {info.model}) "
            f"at [bold]{info.url}/v1[/bold]{where}" + (f", pid {info.pid}" if info.pid else "")
        )
        if info.ray and one.api_key is None and info.spec.api_key:
            console.print(
                f"bound {info.spec.host} with a generated API key, kept in the registry "
                f"(`sage llm serve --engine {info.id}` uses it)"
            )
        typer.echo(info.id)


def _placement(
    ray: bool, address: str | None, resource: list[str], scheduler: str
) -> RayPlacement | None:
    """The ``--ray`` options as a placement (``None``: a local process)."""
    from sage.common.assignments import parse_resources
    from sage.common.errors import ConfigError

    if not ray:
        if address or resource or scheduler != "default":
            raise typer.BadParameter("--ray-address, --resource and --scheduler need --ray")
        return None
    from sage.kernel.scheduler import get_scheduler
    from sage.llm.engine_manager import ray_address_for
    from sage.llm.engines.spec import RayPlacement

    try:
        get_scheduler(scheduler)
        placement = RayPlacement(
            resources=parse_resources(resource), scheduler=scheduler, address=address
        )
    except (ConfigError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    # CLI engines are detached: show (and use) the cluster they will really join.
    return placement.model_copy(update={"address": ray_address_for(placement, detached=True)})


def _print_command(spec: EngineSpec) -> None:
    """The argv (and the names of the environment variables set) ``start`` would use."""
    import shlex

    from sage.common.config import get_settings
    from sage.common.errors import SageError
    from sage.common.ports import find_free_port
    from sage.llm.engines.launch import engine_command, resolve_spec

    try:
        resolved = resolve_spec(spec)
        if resolved.backend == "external":
            typer.echo(f"external engine at {resolved.url}: nothing to start")
            return
        kind = "embedding" if resolved.kind == "embedding" else "llm"
        port = resolved.port or find_free_port(get_settings().ports.engine_port(kind, 0))
        argv, env = engine_command(resolved, port)
    except SageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if resolved.placement is not None:
        typer.echo(f"# placement: {resolved.placement.describe()}")
        typer.echo("# bind: as below on a one-node cluster on this machine; else 0.0.0.0 on "
                   "the chosen node" + ("" if resolved.api_key else ", with a generated API key"))
    if env:
        typer.echo("# environment: " + " ".join(sorted(env)))
    typer.echo(shlex.join(argv))


@app.command("stop")
def stop(
    engine_id: str | None = typer.Argument(None, help="engine id (see `sage engine list`)"),
    all_engines: bool = typer.Option(False, "--all", help="stop every registered engine"),
) -> None:
    """Stop an engine (SIGTERM, then SIGKILL) and forget it."""
    manager = _manager()
    if all_engines:
        count = len(manager.list())
        manager.stop_all(owned_only=False)
        typer.echo(f"stopped {count} engine(s)")
        return
    if not engine_id:
        raise typer.BadParameter("name an engine id or pass --all")
    try:
        manager.stop(engine_id)
    except KeyError as exc:
        typer.echo(str(exc).strip("'\""), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"stopped {engine_id}")


@app.command("list")
def list_engines(
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Registered engines with their live health."""
    import json
    import time

    from rich.console import Console
    from rich.table import Table

    engines = _manager().list(refresh=True)
    if as_json:
        hidden = {"spec": {"api_key"}}  # keys stay in the registry file
        typer.echo(
            json.dumps([e.model_dump(mode="json", exclude=hidden) for e in engines], indent=2)
        )
        return
    table = Table(title="SAGE engines")
    for column in ("id", "kind", "backend", "model", "url", "pid", "status", "restarts", "up"):
        table.add_column(column, overflow="fold")
    colours = {"healthy": "green", "starting": "yellow", "unhealthy": "yellow", "dead": "red"}
    for e in engines:
        status = e.status.value
        up = f"{time.time() - e.started_at:.0f}s" if e.status.value == "healthy" else "-"
        table.add_row(
            e.id, e.kind, e.backend, e.model, e.url, str(e.pid or "-"),
            f"[{colours.get(status, 'white')}]{status}[/]", str(e.restarts), up,
        )  # fmt: skip
    Console().print(table if engines else "no engines (start one with `sage engine start`)")


@app.command("logs")
def logs(
    engine_id: str = typer.Argument(..., help="engine id"),
    follow: bool = typer.Option(False, "--follow", "-f", help="keep printing new lines"),
    lines: int = typer.Option(100, "--lines", "-n", help="lines to show"),
) -> None:
    """Print an engine's log (``-f`` to follow it)."""
    import time
    from pathlib import Path

    manager = _manager()
    try:
        info = manager.get(engine_id)
    except KeyError as exc:
        typer.echo(str(exc).strip("'\""), err=True)
        raise typer.Exit(1) from exc
    typer.echo(manager.logs(engine_id, lines))
    if not follow or info.log_path is None:
        return
    if not Path(info.log_path).exists():  # a Ray engine on another node
        typer.echo(f"(--follow reads the file on the engine's node: {info.log_path} on "
                   f"{info.ray.node_ip if info.ray else '?'})", err=True)
        return
    with open(info.log_path, "rb") as f:
        f.seek(0, 2)
        try:
            while True:
                chunk = f.read()
                if chunk:
                    typer.echo(chunk.decode("utf-8", "replace"), nl=False)
                else:
                    time.sleep(0.25)
        except KeyboardInterrupt:
            pass


@app.command("watch")
def watch(
    interval: float = typer.Option(2.0, "--interval", help="seconds between health checks"),
    restart: bool = typer.Option(True, "--restart/--no-restart", help="restart dead engines"),
) -> None:
    """Health-check registered engines in the foreground, restarting dead ones (Ctrl-C ends)."""
    import time

    manager = _manager()
    try:
        while True:
            statuses = manager.watch_once(auto_restart=restart)
            typer.echo(" ".join(f"{k}={v.value}" for k, v in sorted(statuses.items())) or "-")
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
