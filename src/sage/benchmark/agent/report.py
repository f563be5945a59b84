"""Agent benchmark outputs: JSON, a rich table, PNG plots and an HTML report."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sage.benchmark.agent.runner import primary_metric

COLUMNS = {
    "selection": ["top1", "top3", "top5", "recall@5", "mrr"],
    "planning": ["exact", "step_acc", "tool_f1"],
    "timing": ["accuracy", "precision", "recall", "f1"],
}
COST = ["latency_ms_p50", "tokens_mean", "fallback_rate", "error_rate"]


def rich_tables(summary: Sequence[dict[str, Any]]) -> list[Any]:
    from rich.table import Table

    tables = []
    for task, cols in COLUMNS.items():
        rows = [r for r in summary if r["task"] == task]
        if not rows:
            continue
        table = Table(title=f"agent benchmark: {task}")
        for col in ["dataset", "group", "strategy", "n", *cols, *COST]:
            table.add_column(
                col, justify="left" if col in ("dataset", "group", "strategy") else "right"
            )
        for r in rows:
            cells = [r["dataset"], r["group"], r["strategy"], str(r["n"])]
            cells += [f"{r.get(c, 0.0):.3f}" for c in cols]
            cells += [
                f"{r['latency_ms_p50']:.1f}",
                f"{r['tokens_mean']:.0f}{'~' if r['tokens_estimated'] else ''}",
                f"{r['fallback_rate']:.2f}",
                f"{r['error_rate']:.2f}",
            ]
            table.add_row(*cells)
        tables.append(table)
    return tables


def plot_pool_scaling(summary: Sequence[dict[str, Any]], path: Path) -> Path | None:
    """Selection top-1 accuracy vs candidate-pool size, one line per dataset+strategy."""
    rows = [r for r in summary if r["task"] == "selection" and r.get("pool_size")]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    lines: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for r in rows:
        lines.setdefault((r["dataset"], r["strategy"]), []).append((r["pool_size"], r["top1"]))
    for (dataset, strategy), pts in sorted(lines.items()):
        pts.sort()
        style = "-" if dataset == "synthetic" else "--"
        ax.plot(
            [p for p, _ in pts],
            [a for _, a in pts],
            style,
            marker="o",
            label=f"{dataset}/{strategy}",
        )
    ax.set_xscale("log")
    ax.set_xlabel("candidate pool size (tools)")
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title("Tool selection vs pool size")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency_accuracy(summary: Sequence[dict[str, Any]], path: Path) -> Path | None:
    """Median latency per item vs the task's main metric, one panel per task."""
    tasks = [t for t in COLUMNS if any(r["task"] == t for r in summary)]
    if not tasks:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        metric = primary_metric(task)
        xmax = 1.0
        for r in summary:
            if r["task"] != task or (task == "selection" and r.get("pool_size") not in (None, 100)):
                continue
            marker = "o" if r["dataset"] == "synthetic" else "s"
            xmax = max(xmax, r["latency_ms_p50"])
            where = r["dataset"] + (f"@{r['pool_size']}" if r.get("pool_size") else "")
            ax.scatter(r["latency_ms_p50"], r.get(metric, 0.0), marker=marker)
            ax.annotate(
                f"{r['strategy']} ({where})",
                (r["latency_ms_p50"], r.get(metric, 0.0)),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(0, xmax * 3)
        ax.set_xlabel("median latency per item (ms)")
        ax.set_ylabel(metric)
        ax.set_ylim(0, 1.05)
        ax.set_title(task + (" (pool 100 / native)" if task == "selection" else ""))
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _html_table(rows: Sequence[dict[str, Any]], cols: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            cells.append(
                f"<td>{v:.3f}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def write_report(
    out_dir: Path,
    summary: Sequence[dict[str, Any]],
    results: Sequence[dict[str, Any]],
    config: dict[str, Any],
    errors: Sequence[str],
) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["json"] = out_dir / "results.json"
    paths["json"].write_text(
        json.dumps(
            {
                "config": config,
                "summary": list(summary),
                "item_errors": list(errors),
                "items": list(results),
            },
            indent=1,
            default=str,
        )
    )
    plots = {
        "pool_scaling": plot_pool_scaling(summary, out_dir / "selection_pool_scaling.png"),
        "latency_accuracy": plot_latency_accuracy(summary, out_dir / "latency_vs_accuracy.png"),
    }
    sections = [
        "<h1>SAGE agent benchmark</h1>",
        f"<pre>{html.escape(json.dumps(config, indent=1, default=str))}</pre>",
        "<p>Tokens marked <code>tokens_estimated</code> were estimated (~4 chars/token); "
        "others come from the response usage field. A fallback is an item where a strategy "
        "could not use the LLM's answer and used its baseline instead.</p>",
    ]
    for task, cols in COLUMNS.items():
        rows = [r for r in summary if r["task"] == task]
        if rows:
            extra = ["tp", "fp", "tn", "fn"] if task == "timing" else []
            sections.append(f"<h2>{task}</h2>")
            sections.append(
                _html_table(
                    rows,
                    ["dataset", "group", "strategy", "n", *cols, *extra, *COST, "llm_calls_mean"],
                )
            )
    for name, p in plots.items():
        if p is not None:
            paths[name] = p
            sections.append(f"<h2>{name.replace('_', ' ')}</h2><img src='{p.name}'>")
    if errors:
        sections.append(
            "<h2>Malformed items (skipped)</h2><ul>"
            + "".join(f"<li>{html.escape(e)}</li>" for e in errors)
            + "</ul>"
        )
    style = (
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style>"
    )
    paths["html"] = out_dir / "report.html"
    paths["html"].write_text(
        f"<html><head><meta charset='utf-8'>{style}</head><body>"
        + "\n".join(sections)
        + "</body></html>"
    )
    return paths
