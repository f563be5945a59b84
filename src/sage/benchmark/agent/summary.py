"""Per-item results -> one row per (dataset, task, strategy, group, tuned-on): every
figure with its 95% bootstrap interval, timing rows with balanced accuracy and AUROC,
and flags a reader needs (below a trivial baseline, small sample, trivial top-k)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

from sage.benchmark.agent.runner import ItemResult
from sage.benchmark.agent.stats import SMALL_N, auroc, binary_rates, mean_ci, stat_ci
from sage.libs.agents import baseline_strategies

# Metrics a strategy must beat its task's best baseline on, or be flagged.
FLAG_METRICS = {
    "selection": ("top1",),
    "planning": ("exact", "tool_f1"),
    "timing": ("accuracy", "balanced_accuracy", "f1"),
}
TIMING_RATES = ("accuracy", "balanced_accuracy", "precision", "recall", "f1")


def _timing(rs: Sequence[ItemResult], seed: int) -> dict[str, Any]:
    pred = np.asarray([bool(r.prediction) for r in rs])
    gold = np.asarray([bool(r.gold) for r in rs])
    row: dict[str, Any] = binary_rates(pred, gold)
    for key in TIMING_RATES:
        row[f"{key}_ci"] = stat_ci(lambda i, k=key: binary_rates(pred[i], gold[i])[k], len(rs), seed)
    row.update(
        tp=int(np.sum(pred & gold)),
        fp=int(np.sum(pred & ~gold)),
        tn=int(np.sum(~pred & ~gold)),
        fn=int(np.sum(~pred & gold)),
    )
    if all(r.score is not None for r in rs):
        score = np.asarray([float(r.score) for r in rs])  # type: ignore[arg-type]
        row["auroc"] = auroc(score, gold)
        row["auroc_ci"] = stat_ci(lambda i: auroc(score[i], gold[i]), len(rs), seed)
    return row


def _row(key: tuple[str, str, str, str, str], rs: Sequence[ItemResult], seed: int) -> dict:
    dataset, task, strategy, group, tuned_on = key
    row: dict[str, Any] = {
        "dataset": dataset,
        "task": task,
        "strategy": strategy,
        "group": group,
        "tuned_on": tuned_on,
        "pool_size": rs[0].pool_size if "@" in group else None,
        "n": len(rs),
        "baseline": task in FLAG_METRICS and strategy in baseline_strategies(task),
        "small_n": len(rs) < SMALL_N,
    }
    if task == "timing":
        row.update(_timing(rs, seed))
    else:
        for metric in rs[0].scores:
            values = [r.scores[metric] for r in rs]
            row[metric] = statistics.fmean(values)
            row[f"{metric}_ci"] = mean_ci(values, seed)
    if task == "selection":
        largest = max((r.pool_size or 0) for r in rs)
        row["trivial"] = [m for m in ("top3", "top5", "recall@5") if largest <= int(m[-1])]
    lat = [r.latency_s * 1000 for r in rs]
    row["latency_ms_p50"] = statistics.median(lat)
    row["latency_ms_mean"] = statistics.fmean(lat)
    row["tokens_mean"] = statistics.fmean(r.tokens for r in rs)
    row["tokens_estimated"] = any(r.tokens_estimated for r in rs)
    row["llm_calls_mean"] = statistics.fmean(r.llm_calls for r in rs)
    row["fallback_rate"] = statistics.fmean(1.0 if r.fallback else 0.0 for r in rs)
    row["error_rate"] = statistics.fmean(1.0 if r.error else 0.0 for r in rs)
    return row


def flag_below_baseline(rows: list[dict[str, Any]]) -> None:
    """``below_baseline``: the metrics where a strategy does not beat the best trivial
    baseline of its table (same dataset, task and group)."""
    best: dict[tuple[str, str, str], dict[str, float]] = {}
    for r in rows:
        if r["baseline"]:
            slot = best.setdefault((r["dataset"], r["task"], r["group"]), {})
            for m in FLAG_METRICS[r["task"]]:
                slot[m] = max(slot.get(m, float("-inf")), float(r.get(m, 0.0)))
    for r in rows:
        ref = best.get((r["dataset"], r["task"], r["group"]), {})
        r["below_baseline"] = (
            []
            if r["baseline"]
            else [m for m in FLAG_METRICS.get(r["task"], ()) if m in ref and r.get(m, 0.0) <= ref[m]]
        )


def summarize(results: Sequence[ItemResult], seed: int = 0) -> list[dict[str, Any]]:
    buckets: dict[tuple[str, str, str, str, str], list[ItemResult]] = {}
    for r in results:
        buckets.setdefault((r.dataset, r.task, r.strategy, r.group, r.tuned_on), []).append(r)
    rows = [_row(key, rs, seed) for key, rs in buckets.items()]
    flag_below_baseline(rows)
    rows.sort(
        key=lambda r: (r["dataset"], r["task"], r["group"], not r["baseline"], r["strategy"],
                       r["tuned_on"])
    )
    return rows
