"""``sage bench agent``: tool selection, planning and timing strategies on the shipped
synthetic set and BFCL; ``sage bench agent-data`` regenerates the shipped set."""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer

app = typer.Typer()  # merged into `sage bench` by sage.cli.commands.bench


def _csv(value: str | None) -> list[str] | None:
    """Comma-separated values, duplicates dropped, order kept."""
    return list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip())) if value else None


@app.command("agent")
def agent(
    dataset: str = typer.Option(
        "synthetic,bfcl",
        "--eval-on",
        "--dataset",
        "-d",
        help="data sets scored (comma-separated): synthetic, bfcl, metatool",
    ),
    tune_on: str = typer.Option(
        "synthetic",
        "--tune-on",
        help="data sets whose train/dev split fits tunable strategies (thresholds, learned "
        "weights), comma-separated: synthetic, bfcl; both give in-distribution and transfer "
        "rows side by side",
    ),
    tasks: str = typer.Option(
        "selection,planning,timing",
        "--tasks",
        "-t",
        help="comma-separated: selection, planning, timing, calling (calling needs a model)",
    ),
    strategies: str | None = typer.Option(
        None, "--strategies", "-s", help="comma-separated strategy names (default: all)"
    ),
    split: str = typer.Option(
        "test", "--split", help="split scored: test (default), dev, train or all"
    ),
    limit: int | None = typer.Option(
        None, "--limit", "-n", help="items (base instructions) per task and source"
    ),
    llm_limit: int | None = typer.Option(
        None, "--llm-limit", help="a smaller --limit for strategies that call the LLM"
    ),
    seed: int = typer.Option(0, "--seed", help="sampling and BFCL pooling seed"),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI-compatible endpoint (the SAGE gateway or any engine)"
    ),
    model: str | None = typer.Option(None, "--model", help="chat model name"),
    embedding_model: str | None = typer.Option(None, "--embedding-model"),
    embeddings: str = typer.Option(
        "client",
        "--embeddings",
        help="'client' (via --base-url) or 'local' (sentence-transformers)",
    ),
    start_stack: bool = typer.Option(
        False, "--start-stack", help="start the default engines + gateway when no --base-url"
    ),
    bfcl_dir: Path | None = typer.Option(
        None, "--bfcl-dir", envvar="SAGE_BFCL_DIR", help="BFCL data (default ../shared/data/bfcl)"
    ),
    metatool_file: Path | None = typer.Option(
        None, "--metatool-file", help="MetaTool awareness items (JSON/JSONL/CSV, Query+Label)"
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="a catalog.jsonl + items.jsonl to use instead of the shipped set"
    ),
    output: Path = typer.Option(Path("results/agent"), "--output", "-o", help="report folder"),
    embed_cache: bool = typer.Option(
        True, "--embed-cache/--no-embed-cache", help="cache embeddings in .cache/ (model+text)"
    ),
    api_key: str | None = typer.Option(None, "--api-key", envvar="SAGE_API_KEY"),
    tool_choice: str = typer.Option(
        "auto", "--tool-choice", help="calling: auto (BFCL's setting) or required (forces a call)"
    ),
) -> None:
    """Tool selection (top-k, recall@5, NDCG@5, MRR; pools 10/100/500), planning (exact
    in any order where the data is order-free, step accuracy, multiset tool F1), timing
    (balanced accuracy, AUROC, accuracy, P/R/F1) and calling (BFCL AST accuracy) per
    strategy, beside trivial baselines, with 95% bootstrap intervals, latency, tokens
    and fallback rates. Writes results.json (per-item predictions), plots, report.html."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sage.benchmark.agent.report import rich_tables, write_report
    from sage.benchmark.agent.suite import AgentBenchConfig, run_agent_benchmark
    from sage.common.errors import ConfigError

    console = Console(width=max(Console().width, 240))
    config = AgentBenchConfig(
        datasets=_csv(dataset) or ["synthetic"],
        tune_on=_csv(tune_on) or [],
        tasks=_csv(tasks) or ["selection", "planning", "timing"],
        strategies=_csv(strategies),
        split=split,
        limit=limit,
        llm_limit=llm_limit,
        seed=seed,
        bfcl_dir=bfcl_dir,
        metatool_file=metatool_file,
        data_dir=data_dir,
    )
    with contextlib.ExitStack() as stack:
        client = None
        url = base_url
        if url is None and start_stack:
            from sage.gateway.stack import serve_stack

            console.print("starting the default engines + gateway ...")
            url = stack.enter_context(serve_stack(llm_model="default", embedding_model="default"))
        if url is None and "calling" in config.tasks and not start_stack:
            console.print("[yellow]-t calling needs a model: give --base-url or --start-stack")
        caller = None
        if url is not None:
            from sage.benchmark.agent.calling import ToolCaller
            from sage.llm.client import LLMClient

            client = stack.enter_context(
                LLMClient(url, model=model, embedding_model=embedding_model, api_key=api_key)
            )
            caller = ToolCaller(
                url, model=model or "default", api_key=api_key, tool_choice=tool_choice
            )
        embed_client = None
        if embeddings == "local":
            from sage.benchmark.agent.metering import LocalEmbedder

            embed_client = LocalEmbedder()
        if embed_cache and (embed_client or client) is not None:
            from sage.benchmark.agent.embed_cache import CachedEmbedder

            key = "local:all-MiniLM-L6-v2" if embed_client else f"{url}:{embedding_model}"
            embed_client = CachedEmbedder(embed_client or client, key)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:

            def track(label: str, total: int):  # type: ignore[no-untyped-def]
                task_id = progress.add_task(label, total=total)
                return lambda: progress.advance(task_id)

            try:
                run = run_agent_benchmark(
                    config, client, embed_client, progress=track, caller=caller,
                    caller_name=model or "default",
                )
            except (ValueError, FileNotFoundError, ConfigError) as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from exc
    for table in rich_tables(run.summary):
        console.print(table)
    for line in run.skipped:
        console.print(f"[yellow]skipped {line}[/yellow]")
    for err in run.errors[:20]:
        console.print(f"[red]malformed item[/red] {err}")
    if len(run.errors) > 20:
        console.print(f"... {len(run.errors) - 20} more malformed items (see results.json)")
    cfg = {**config.to_dict(), "base_url": url, "model": model, "embeddings": embeddings}
    for fit in run.fitted:
        console.print(f"fitted {fit}")
    paths = write_report(
        output, run.summary, [r.__dict__ for r in run.results], cfg, run.errors, run.fitted
    )
    console.print(f"report: {paths['html']}  results: {paths['json']}")


@app.command("agent-data")
def agent_data(
    output: Path | None = typer.Option(None, "--output", "-o", help="folder (default: shipped)"),
    seed: int | None = typer.Option(None, "--seed", help="generator seed (default: shipped)"),
) -> None:
    """Regenerate the synthetic tool catalog and agent items (deterministic)."""
    from sage.benchmark.agent.generator import DATA_DIR, DEFAULT_SEED, write_dataset

    catalog, items = write_dataset(output or DATA_DIR, DEFAULT_SEED if seed is None else seed)
    typer.echo(f"wrote {catalog} and {items}")
