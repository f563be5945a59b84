"""Agent benchmark outputs: JSON, a rich table, PNG plots and an HTML report."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sage.benchmark.agent.runner import primary_metric

COLUMNS = {
    "selection": ["top1", "top3", "top5", "recall@5", "ndcg@5", "mrr"],
    "planning": ["exact", "exact_ordered", "step_acc", "tool_f1"],
    "timing": ["balanced_accuracy", "auroc", "accuracy", "precision", "recall", "f1"],
    "calling": ["ast_accuracy", "schema_valid", "called"],
}
COST = ["latency_ms_p50", "tokens_mean", "fallback_rate", "error_rate"]
KEYS = ["dataset", "group", "strategy", "tuned_on", "n"]
NOTES = (
    "Each figure: value (95% bootstrap interval over items). "
    "v = not above the best trivial baseline of its table (baselines: first_candidate, "
    "random, all_candidates, always_call, never_call); * = fewer than 100 items; "
    "'trivial' = every item offers at most k tools, so top-k is 1.0 for any ranking. "
    "tuned_on: the data set whose train/dev split fitted the strategy ('-': nothing fitted)."
)


def cell(row: dict[str, Any], col: str) -> str:
    """One table cell: value, interval and flags."""
    if col == "n":
        return f"{row['n']}{'*' if row.get('small_n') else ''}"
    if col in ("dataset", "group", "strategy", "tuned_on"):
        return str(row.get(col, ""))
    if col in row.get("trivial", []):
        return "trivial"
    value = row.get(col)
    if value is None or value != value:  # missing or NaN
        return "-"
    text = f"{value:.3f}"
    ci = row.get(f"{col}_ci")
    if ci and ci[0] == ci[0]:
        text += f" ({ci[0]:.2f}-{ci[1]:.2f})"
    if col in row.get("below_baseline", []):
        text += " v"
    return text


def _cost(row: dict[str, Any]) -> list[str]:
    return [
        f"{row['latency_ms_p50']:.1f}",
        f"{row['tokens_mean']:.0f}{'~' if row['tokens_estimated'] else ''}",
        f"{row['fallback_rate']:.2f}",
        f"{row['error_rate']:.2f}",
    ]


def rich_tables(summary: Sequence[dict[str, Any]]) -> list[Any]:
    from rich.table import Table

    tables = []
    for task, cols in COLUMNS.items():
        rows = [r for r in summary if r["task"] == task]
        if not rows:
            continue
        table = Table(title=f"agent benchmark: {task}", caption=NOTES)
        for col in [*KEYS, *cols, *COST]:
            table.add_column(col, justify="left" if col in KEYS[:4] else "right")
        for r in rows:
            table.add_row(*[cell(r, c) for c in [*KEYS, *cols]], *_cost(r))
        tables.append(table)
    return tables


def _label(row: dict[str, Any]) -> str:
    tuned = row.get("tuned_on", "-")
    return row["strategy"] + ("" if tuned == "-" else f" [tuned: {tuned}]")


def plot_pool_scaling(summary: Sequence[dict[str, Any]], path: Path) -> Path | None:
    """Selection top-1 accuracy vs candidate-pool size, one line per dataset+strategy."""
    rows = [
        r for r in summary if r["task"] == "selection" and r.get("pool_size") and not r["baseline"]
    ]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    lines: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for r in rows:
        lines.setdefault((r["dataset"], _label(r)), []).append((r["pool_size"], r["top1"]))
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
                f"{_label(r)} ({where})",
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
            if c in KEYS or c in COLUMNS.get(r["task"], ()):
                cells.append(f"<td>{html.escape(cell(r, c))}</td>")
            elif isinstance(v, float):
                cells.append(f"<td>{v:.3f}</td>")
            else:
                cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _html_table_plain(rows: Sequence[dict[str, Any]]) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(
    out_dir: Path,
    summary: Sequence[dict[str, Any]],
    results: Sequence[dict[str, Any]],
    config: dict[str, Any],
    errors: Sequence[str],
    fitted: Sequence[dict[str, Any]] = (),
) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["json"] = out_dir / "results.json"
    paths["json"].write_text(
        json.dumps(
            {
                "config": config,
                "summary": list(summary),
                "fitted": list(fitted),
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
        f"<p>{html.escape(NOTES)}</p>",
        "<p>Tokens marked <code>tokens_estimated</code> were estimated (~4 chars/token); "
        "others come from the response usage field. A fallback is an item where a strategy "
        "could not use the LLM's answer and used its baseline instead.</p>",
    ]
    if fitted:
        sections.append("<h2>fitted (train/dev of the tune set)</h2>")
        sections.append(_html_table_plain(fitted))
    for task, cols in COLUMNS.items():
        rows = [r for r in summary if r["task"] == task]
        if rows:
            extra = ["tp", "fp", "tn", "fn"] if task == "timing" else []
            sections.append(f"<h2>{task}</h2>")
            sections.append(_html_table(rows, [*KEYS, *cols, *extra, *COST, "llm_calls_mean"]))
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
