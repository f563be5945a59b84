"""Benchmark outputs: headline rows (medians over repeats, ratios to ``siloed``), a rich
table, PNG plots (latency CDFs, p99 vs rate, SLO attainment vs rate) and one HTML page.

Real runs (``bench serve`` / ``bench compare``) and simulations (``bench simulate``)
produce the same :class:`RunEntry` list, so both get the same report.
"""

from __future__ import annotations

import html
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sage.benchmark.serving.metrics import OK, Outcomes, interference
from sage.benchmark.serving.workload import KIND_EMBEDDING, KIND_LLM, KIND_NAMES

SCHEMA = "sage-bench-serving/1"


@dataclass
class RunEntry:
    """One measured (or simulated) run of one baseline at one rate."""

    rate: float
    baseline: str
    repeat: int
    summary: dict[str, Any]
    outcomes: Outcomes | None = None
    path: str | None = None
    alone: bool = False  # the victim tenant alone (reference for interference)


def _get(summary: dict[str, Any], *keys: str) -> Any:
    value: Any = summary
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def headline(summary: dict[str, Any], victim: str | None) -> dict[str, float | None]:
    """The numbers the comparison is about, flat."""
    row: dict[str, float | None] = {
        "llm_p50_ms": _get(summary, "by_kind", "llm", "e2e_ms", "p50"),
        "llm_p99_ms": _get(summary, "by_kind", "llm", "e2e_ms", "p99"),
        "ttft_p50_ms": _get(summary, "by_kind", "llm", "ttft_ms", "p50"),
        "ttft_p99_ms": _get(summary, "by_kind", "llm", "ttft_ms", "p99"),
        "prefix_hit_rate": _get(summary, "by_kind", "llm", "prefix_hit_rate"),
        "emb_p50_ms": _get(summary, "by_kind", "embedding", "e2e_ms", "p50"),
        "emb_p99_ms": _get(summary, "by_kind", "embedding", "e2e_ms", "p99"),
        "throughput_rps": _get(summary, "overall", "request_throughput"),
        "tokens_per_s": _get(summary, "overall", "output_token_throughput"),
        "goodput_rps": _get(summary, "overall", "goodput"),
        "slo_attainment": _get(summary, "overall", "slo_attainment"),
        "llm_slo": _get(summary, "by_kind", "llm", "slo_attainment"),
        "emb_slo": _get(summary, "by_kind", "embedding", "slo_attainment"),
        "rejected": _get(summary, "overall", "rejected"),
        "errors": _get(summary, "overall", "errors"),
        # mean inputs per embedding model call (the engine's batches), and per gateway
        # dispatch (unified runs): what decides padding and CPU taken from the LLM
        "emb_batch_inputs": _get(summary, "embedding_batches", "engine_inputs_per_batch"),
        "emb_dispatch_inputs": _get(summary, "embedding_batches", "gateway_inputs_per_dispatch"),
    }
    if victim is not None:
        row["victim_llm_p99_ms"] = _get(
            summary, "by_tenant", victim, "by_kind", "llm", "e2e_ms", "p99"
        )
        row["victim_slo"] = _get(summary, "by_tenant", victim, "slo_attainment")
    return row


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def aggregate(entries: Sequence[RunEntry], victim: str | None) -> list[dict[str, Any]]:
    """One row per (rate, baseline): medians over repeats, interference and ratios to
    ``siloed`` at the same rate (p99: baseline / siloed, lower is better; throughput and
    attainment: baseline / siloed, higher is better)."""
    groups: dict[tuple[float, str], list[dict[str, Any]]] = {}
    alone: dict[tuple[float, str], list[float | None]] = {}
    for e in entries:
        if e.alone:
            p99 = _get(e.summary, "by_tenant", victim or "", "by_kind", "llm", "e2e_ms", "p99")
            alone.setdefault((e.rate, e.baseline), []).append(p99)
        else:
            groups.setdefault((e.rate, e.baseline), []).append(headline(e.summary, victim))
    rows: list[dict[str, Any]] = []
    for (rate, baseline), heads in groups.items():
        row: dict[str, Any] = {"rate": rate, "baseline": baseline, "runs": len(heads)}
        for key in heads[0]:
            row[key] = _median([h[key] for h in heads])
        reference = alone.get((rate, baseline)) or alone.get((rate, "siloed"))
        if reference is None and alone:
            reference = next((v for (r, _), v in alone.items() if r == rate), None)
        row["victim_alone_p99_ms"] = _median(reference or [])
        row["interference"] = interference(row.get("victim_llm_p99_ms"), row["victim_alone_p99_ms"])
        rows.append(row)
    siloed = {r["rate"]: r for r in rows if r["baseline"] == "siloed"}
    for row in rows:
        ref = siloed.get(row["rate"])
        for key in ("llm_p99_ms", "emb_p99_ms", "throughput_rps", "goodput_rps", "slo_attainment"):
            base = ref.get(key) if ref else None
            row[f"{key}_vs_siloed"] = row[key] / base if base and row.get(key) is not None else None
    order = {b: i for i, b in enumerate(dict.fromkeys(e.baseline for e in entries))}
    rows.sort(key=lambda r: (r["rate"], order.get(r["baseline"], 99)))
    return rows


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


TABLE_COLUMNS = (
    ("rate", "rate/s", 2),
    ("baseline", "baseline", 0),
    ("llm_p99_ms", "LLM p99 ms", 0),
    ("llm_p99_ms_vs_siloed", "x siloed", 2),
    ("emb_p99_ms", "emb p99 ms", 0),
    ("emb_p99_ms_vs_siloed", "x siloed", 2),
    ("ttft_p50_ms", "TTFT p50", 0),
    ("ttft_p99_ms", "TTFT p99", 0),
    ("prefix_hit_rate", "hit rate", 3),
    ("throughput_rps", "req/s", 2),
    ("goodput_rps", "goodput/s", 2),
    ("slo_attainment", "SLO att.", 3),
    ("slo_attainment_vs_siloed", "x siloed", 2),
    ("interference", "interf.", 2),
    ("emb_batch_inputs", "emb batch", 1),
    ("rejected", "429", 0),
    ("errors", "err", 0),
)


def rich_table(rows: Sequence[dict[str, Any]], title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for _, header, _ in TABLE_COLUMNS:
        table.add_column(header, justify="left" if header == "baseline" else "right")
    for row in rows:
        table.add_row(*[_fmt(row.get(key), digits) for key, _, digits in TABLE_COLUMNS])
    return table


# -- plots ------------------------------------------------------------------------------
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(baseline: str) -> dict[str, Any]:
    """The reference stands out: siloed is a thick dashed black line drawn on top."""
    if baseline == "siloed":
        return {"color": "black", "linestyle": "--", "linewidth": 2.0, "zorder": 5}
    return {}


def plot_latency_cdfs(entries: Sequence[RunEntry], path: Path) -> Path | None:
    """E2E latency CDF per baseline; one row of panels (LLM, embedding) per rate."""
    runs = [e for e in entries if not e.alone and e.outcomes is not None and e.repeat == 0]
    if not runs:
        return None
    plt = _pyplot()
    rates = sorted({e.rate for e in runs})
    fig, axes = plt.subplots(len(rates), 2, figsize=(10, 3.2 * len(rates)), squeeze=False)
    for row, rate in enumerate(rates):
        for col, kind in enumerate((KIND_LLM, KIND_EMBEDDING)):
            ax = axes[row][col]
            for e in runs:
                if e.rate != rate:
                    continue
                assert e.outcomes is not None
                mask = (e.outcomes.kind == kind) & (e.outcomes.outcome == OK)
                values = e.outcomes.e2e[mask] * 1000
                if values.size:
                    ax.ecdf(values, label=e.baseline, **_style(e.baseline))
            ax.set_xscale("log")
            ax.set_xlabel(f"{KIND_NAMES[kind]} end-to-end latency (ms)")
            ax.set_ylabel("fraction of requests")
            ax.set_title(f"{KIND_NAMES[kind]} @ {rate:g} req/s")
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_vs_rate(
    rows: Sequence[dict[str, Any]],
    metrics: Sequence[tuple[str, str]],
    path: Path,
    *,
    log: bool = False,
) -> Path | None:
    """One panel per metric, one line per baseline, rate on x."""
    if not rows:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.8), squeeze=False)
    baselines = list(dict.fromkeys(r["baseline"] for r in rows))
    for ax, (key, label) in zip(axes[0], metrics, strict=True):
        for baseline in baselines:
            pts = sorted(
                (r["rate"], r[key])
                for r in rows
                if r["baseline"] == baseline and r.get(key) is not None
            )
            if pts:
                ax.plot(
                    [p for p, _ in pts], [v for _, v in pts], marker="o", label=baseline,
                    **_style(baseline),
                )  # fmt: skip
        ax.set_xlabel("offered load (requests/s)")
        ax.set_ylabel(label)
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _html_table(rows: Sequence[dict[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in TABLE_COLUMNS)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_fmt(r.get(k), d))}</td>" for k, _, d in TABLE_COLUMNS)
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(
    out_dir: Path,
    title: str,
    config: dict[str, Any],
    entries: Sequence[RunEntry],
    victim: str | None,
    notes: Sequence[str] = (),
) -> dict[str, Path]:
    """``summary.json``, the PNGs and ``report.html`` in ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = aggregate(entries, victim)
    paths: dict[str, Path] = {}
    paths["json"] = out_dir / "summary.json"
    paths["json"].write_text(
        json.dumps(
            {
                "schema": SCHEMA,
                "title": title,
                "config": config,
                "rows": rows,
                "runs": [
                    {
                        "rate": e.rate,
                        "baseline": e.baseline,
                        "repeat": e.repeat,
                        "alone": e.alone,
                        "path": e.path,
                        "summary": e.summary,
                    }
                    for e in entries
                ],
                "notes": list(notes),
            },
            indent=1,
            default=str,
        )
    )
    plots = {
        "latency_cdf": plot_latency_cdfs(entries, out_dir / "latency_cdf.png"),
        "p99_vs_rate": plot_vs_rate(
            rows,
            [("llm_p99_ms", "LLM e2e p99 (ms)"), ("emb_p99_ms", "embedding e2e p99 (ms)")],
            out_dir / "p99_vs_rate.png",
            log=True,
        ),
        "slo_vs_rate": plot_vs_rate(
            rows,
            [("slo_attainment", "SLO attainment (all)"), ("goodput_rps", "goodput (req/s)")],
            out_dir / "slo_vs_rate.png",
        ),
    }
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        _html_table(rows),
        "<p>Medians over repeats. <i>x siloed</i>: ratio to the siloed baseline at the same "
        "rate. <i>interf.</i>: the victim tenant's LLM p99 with its neighbour divided by its "
        "p99 alone. SLO attainment counts rejected and failed requests as misses.</p>",
    ]
    sections += [f"<p>{html.escape(n)}</p>" for n in notes]
    for name, p in plots.items():
        if p is not None:
            paths[name] = p
            sections.append(f"<h2>{name.replace('_', ' ')}</h2><img src='{p.name}'>")
    sections.append(
        f"<h2>configuration</h2><pre>{html.escape(json.dumps(config, indent=1, default=str))}</pre>"
    )
    style = (
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style>"
    )
    paths["html"] = out_dir / "report.html"
    paths["html"].write_text(
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{style}</head>"
        f"<body>{''.join(sections)}</body></html>"
    )
    return paths


def save_run(path: Path, config: dict[str, Any], summary: dict[str, Any], requests: Any) -> Path:
    """One run's result file: its configuration, summary and every request."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {"schema": SCHEMA, "config": config, "summary": summary, "requests": requests},
            default=str,
        )
    )
    return path


def outcomes_from_requests(requests: dict[str, Any]) -> Outcomes:
    """Rebuild per-request outcomes from a run file's ``requests`` columns."""
    tenants = list(dict.fromkeys(requests["tenant"]))
    index = {t: i for i, t in enumerate(tenants)}
    names = {"ok": 0, "rejected": 1, "error": 2}

    def floats(column: str) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in requests[column]], dtype=np.float64)

    itl = requests.get("itl") or [[] for _ in requests["kind"]]
    return Outcomes(
        kind=np.array([KIND_NAMES.index(k) for k in requests["kind"]], dtype=np.int8),
        tenant=np.array([index[t] for t in requests["tenant"]], dtype=np.int16),
        tenants=tenants,
        outcome=np.array([names[o] for o in requests["outcome"]], dtype=np.int8),
        ttft=floats("ttft"),
        e2e=floats("e2e"),
        output_tokens=np.array(requests["output_tokens"], dtype=np.int64),
        input_tokens=np.array(requests["input_tokens"], dtype=np.int64),
        itl=np.array([g for gaps in itl for g in gaps], dtype=np.float64),
        itl_owner=np.array([i for i, gaps in enumerate(itl) for _ in gaps], dtype=np.int64),
    )


def entries_from_folder(folder: Path, repeat_offset: int = 0) -> list[RunEntry]:
    """The runs of a ``bench compare``/``serve`` folder, e.g. to report several together."""
    entries = []
    for path in sorted((folder / "runs").glob("*.json")):
        run = json.loads(path.read_text())
        config = run["config"]
        entries.append(
            RunEntry(
                float(config["rate"]),
                str(config["baseline"]),
                int(config.get("repeat", 0)) + repeat_offset,
                run["summary"],
                outcomes_from_requests(run["requests"]),
                str(path),
                bool(config.get("alone")),
            )
        )
    return entries
