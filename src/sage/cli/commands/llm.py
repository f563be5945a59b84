"""``sage llm``: serve engines and the gateway in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Serve LLM and embedding engines behind the gateway.", no_args_is_help=True)


@app.callback()
def _llm() -> None:
    """Serve LLM and embedding engines behind the gateway."""


@app.command("serve")
def serve(
    llm_model: str | None = typer.Option(
        None,
        "--llm-model",
        help="GGUF path or 'default' (embedded SmolLM2); default when "
        "neither model nor --engine-url is given",
    ),
    embedding_model: str | None = typer.Option(
        None,
        "--embedding-model",
        help="sentence-transformers folder or 'default' (embedded all-MiniLM-L6-v2)",
    ),
    policy: str | None = typer.Option(
        None, "--policy", help="scheduling policy (default from settings: hybrid)"
    ),
    host: str | None = typer.Option(
        None, "--host", help="bind address (127.0.0.1 by default; API keys required beyond it)"
    ),
    port: int | None = typer.Option(None, "--port", help="gateway port (8888 by default)"),
    engine_url: list[str] = typer.Option(
        [],
        "--engine-url",
        help="external engine: URL[,kind=llm|embedding|both][,capacity=N][,max_batch=N]"
        "[,model=NAME]...[,api_key_env=VAR] (key read from $VAR); repeatable",
    ),
    engine_ids: list[str] = typer.Option(
        [],
        "--engine",
        help="an engine from `sage engine start` (see `sage engine list`), by id; repeatable",
    ),
    no_engines: bool = typer.Option(
        False, "--no-engines", help="start no local engines (only --engine-url ones)"
    ),
    llm_replicas: int = typer.Option(
        1, "--llm-replicas", min=1, help="LLM engines of the model (cores split between them)"
    ),
    llm_capacity: int = typer.Option(
        1, "--llm-capacity", min=1, help="concurrent requests per LLM engine (llama.cpp slots)"
    ),
    prefix_cache_mb: float | None = typer.Option(
        None, "--prefix-cache-mb", min=0, help="per LLM engine, memory for cached prompt "
        "prefixes (default 256; 0: only what the context holds)"
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level"),
) -> None:
    """Start engines (embedded defaults unless told otherwise) and the OpenAI-compatible
    gateway in one command; Ctrl-C stops everything."""
    import signal
    import threading

    from rich.console import Console

    from sage.common.config import load_settings
    from sage.common.errors import ConfigError, SageError
    from sage.common.logging import configure_logging
    from sage.gateway.stack import ServingStack
    from sage.llm.control_plane.policies import available_policies
    from sage.llm.engine_manager import EngineManager
    from sage.llm.engines.external import parse_engine_url

    console = Console(stderr=True)
    settings = load_settings()
    configure_logging(settings.log_level)
    policy = policy or settings.gateway.policy
    if policy not in available_policies():
        console.print(
            f"[red]unknown policy {policy!r}; available: {', '.join(available_policies())}[/red]"
        )
        raise typer.Exit(2)
    try:
        specs = [parse_engine_url(u) for u in engine_url]
    except ValueError as exc:
        console.print(f"[red]bad --engine-url: {exc}[/red]")
        raise typer.Exit(2) from exc
    manager = EngineManager(settings.home)  # finds (and restarts) registered engines; stops only its own
    try:
        engines = [manager.get(engine_id) for engine_id in engine_ids]
    except KeyError as exc:
        console.print(f"[red]{str(exc).strip(chr(34) + chr(39))}[/red]")
        raise typer.Exit(2) from exc
    named = llm_model is not None or embedding_model is not None or specs or engines
    if not no_engines and not named:
        llm_model = settings.llm_model or "default"
        embedding_model = settings.embedding_model or "default"
    llm_specs = []
    if llm_model is not None and not no_engines:
        llm_specs = _llm_engines(llm_model, llm_replicas, llm_capacity, prefix_cache_mb)
    stack = ServingStack(
        llm_model=None,
        start_engines=llm_specs,
        embedding_model=None if no_engines else embedding_model,
        engine_urls=specs,
        engines=engines,
        engine_manager=manager if engines else None,  # else the stack makes its own
        policy=policy,
        host=host or settings.gateway.host,
        port=port or settings.ports.gateway,
        settings=settings.gateway,
        log_level=log_level,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stack.start()
    except SageError as exc:  # bad settings (2) or an engine that would not start (1)
        console.print(f"[red]{exc}[/red]")
        stack.stop()
        raise typer.Exit(2 if isinstance(exc, ConfigError) else 1) from exc
    console.print(f"[green]SAGE gateway on {stack.url}[/green] (policy {policy}; Ctrl-C stops)")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        console.print("stopping gateway and engines ...")
        stack.stop()


def _llm_engines(
    model: str, replicas: int, capacity: int, prefix_cache_mb: float | None
) -> list[Any]:
    """The built-in LLM engine ``replicas`` times (threads split between them)."""
    from sage.llm.engines.replicas import replica_specs
    from sage.llm.engines.spec import DEFAULT_BACKEND, EngineSpec

    extra = [] if prefix_cache_mb is None else ["--prefix-cache-mb", str(prefix_cache_mb)]
    spec = EngineSpec(
        kind="llm",
        backend=DEFAULT_BACKEND["llm"],
        model="" if model == "default" else model,
        capacity=capacity,
        extra_args=extra,
    )
    return replica_specs(spec, replicas)


@app.command("tokenizer")
def tokenizer(
    out: Path = typer.Option(..., "--out", "-o", help="folder to write tokenizer.json into"),
    model_path: Path | None = typer.Option(
        None, "--model-path", help="GGUF file (default: the embedded SmolLM2)"
    ),
) -> None:
    """Export the model's tokenizer as a Hugging Face folder, built offline from the GGUF
    (for clients that count tokens, e.g. ``guidellm --processor DIR``)."""
    from rich.console import Console

    from sage.common.errors import SageError
    from sage.common.models import default_llm_path
    from sage.llm.tokenizer_export import export_tokenizer

    console = Console(stderr=True)

    path = model_path or default_llm_path()
    if path is None:
        console.print("[red]no --model-path and the default model package is missing[/red]")
        raise typer.Exit(2)
    try:
        written = export_tokenizer(Path(path), out)
    except SageError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    for file in written:
        console.print(f"wrote {file}")

