"""Run strategies over items and score every item (per-item results are kept for
results.json; :mod:`sage.benchmark.agent.summary` aggregates them)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sage.benchmark.agent.datasets import Dataset
from sage.benchmark.agent.metering import MeteredClient
from sage.benchmark.agent.metrics import (
    exact_any_order,
    exact_plan,
    multiset_f1,
    ndcg_at_k,
    step_accuracy,
)
from sage.benchmark.agent.schema import AgentItem
from sage.libs.metrics import hit_at_k, mrr, recall_at_k

SELECTION_KS = (1, 3, 5)


@dataclass
class ItemResult:
    dataset: str
    task: str
    strategy: str
    item_id: str
    group: str
    pool_size: int | None
    latency_s: float
    tokens: int = 0
    tokens_estimated: bool = False
    llm_calls: int = 0
    fallback: bool = False
    fallback_reason: str | None = None
    error: str | None = None
    prediction: Any = None
    gold: Any = None
    scores: dict[str, float] = field(default_factory=dict)
    score: float | None = None  # timing: how strongly the strategy leans to "call"
    tuned_on: str = "-"  # the data set whose train/dev split fitted the strategy


def group_of(item: AgentItem) -> str:
    """Items compared together: pooled selection per pool size, else per source."""
    source = str(item.meta.get("source", "synthetic"))
    if item.task == "timing" and source.startswith("BFCL"):
        return "BFCL_v4_all_files"
    if item.task == "selection" and (item.meta.get("pooled") or source == "synthetic"):
        return f"{source}@{item.pool_size}"
    return source


def base_key(item: AgentItem) -> str:
    return re.sub(r"-p\d+$", "", item.id)


def pick_items(
    items: Iterable[AgentItem], task: str, split: str | None, limit: int | None, seed: int
) -> list[AgentItem]:
    """The task's items in ``split``; with ``limit``, a seeded sample of ``limit`` base
    instructions per source, so every pool size sees the same ones. Timing samples
    are split evenly between the two labels: a small sample of one label has no
    precision or recall to report."""
    chosen = [i for i in items if i.task == task and (split is None or i.split == split)]
    if not limit:
        return chosen
    strata: dict[str, dict[str, list[AgentItem]]] = {}
    for item in chosen:
        label = str(item.should_call) if task == "timing" else ""
        group = strata.setdefault(group_of(item).split("@")[0], {})
        group.setdefault(label, []).append(item)
    keep: set[str] = set()
    for _, labels in sorted(strata.items()):
        for n, (_, members) in enumerate(sorted(labels.items())):
            share = limit // len(labels) + (1 if n < limit % len(labels) else 0)
            keys = sorted({base_key(i) for i in members})
            keep.update(random.Random(seed).sample(keys, min(share, len(keys))))
    return [i for i in chosen if base_key(i) in keep]


def score_item(task: str, item: AgentItem, prediction: Any) -> dict[str, float]:
    if task == "selection":
        gold = list(dict.fromkeys(item.gold_tools))  # every gold tool, once
        out = {f"top{k}": hit_at_k(prediction, gold, k) for k in SELECTION_KS}
        out["recall@5"] = recall_at_k(prediction, gold, 5)
        out["ndcg@5"] = ndcg_at_k(prediction, gold, 5)
        out["mrr"] = mrr(prediction, gold)
        return out
    if task == "planning":
        ordered = exact_plan(prediction, item.gold_tools)
        any_order = exact_any_order(prediction, item.gold_tools)
        return {
            # order-free data (BFCL parallel calls): a plan in another order is right
            "exact": any_order if item.meta.get("order_free") else ordered,
            "exact_ordered": ordered,
            "step_acc": step_accuracy(prediction, item.gold_tools),
            "tool_f1": multiset_f1(prediction, item.gold_tools),
        }
    return {"correct": 1.0 if bool(prediction) == item.should_call else 0.0}


def run_item(
    task: str,
    strategy: Any,
    dataset: Dataset,
    item: AgentItem,
    meter: MeteredClient | None,
    top_k: int = 10,
) -> tuple[Any, Any]:
    tools = dataset.candidates(item) if item.candidates or task != "timing" else []
    if task == "selection":
        res = strategy.select(item.instruction, tools, top_k=top_k)
        return res.ranked, res
    if task == "planning":
        res = strategy.plan(item.instruction, tools)
        return res.steps, res
    res = strategy.decide(item.instruction, tools)
    return res.call, res


def run_strategy(
    dataset: Dataset,
    task: str,
    name: str,
    strategy: Any,
    items: Sequence[AgentItem],
    meter: MeteredClient | None = None,
    on_item: Callable[[], None] | None = None,
    tuned_on: str = "-",
) -> list[ItemResult]:
    results = []
    for item in items:
        if meter is not None:
            meter.reset()
        start = time.perf_counter()
        error = None
        prediction: Any = None
        trace: Any = None
        try:
            prediction, trace = run_item(task, strategy, dataset, item, meter)
        except Exception as exc:  # a failed item is a wrong answer, not a crash
            error = f"{type(exc).__name__}: {exc}"
            prediction = [] if task != "timing" else (not item.should_call)
        latency = time.perf_counter() - start
        gold: Any = item.should_call if task == "timing" else item.gold_tools
        results.append(
            ItemResult(
                dataset=dataset.name,
                task=task,
                strategy=name,
                item_id=item.id,
                group=group_of(item),
                pool_size=item.pool_size,
                latency_s=latency,
                tokens=meter.tokens if meter else 0,
                tokens_estimated=bool(meter and meter.estimated),
                llm_calls=getattr(trace, "llm_calls", 0) if trace else 0,
                fallback=bool(getattr(trace, "fallback", False)),
                fallback_reason=getattr(trace, "fallback_reason", None),
                error=error,
                prediction=prediction[:10] if isinstance(prediction, list) else prediction,
                gold=gold,
                scores=score_item(task, item, prediction),
                score=getattr(trace, "score", None) if task == "timing" else None,
                tuned_on=tuned_on,
            )
        )
        if on_item:
            on_item()
    return results


def primary_metric(task: str) -> str:
    return {
        "selection": "top1",
        "planning": "exact",
        "timing": "balanced_accuracy",
        "calling": "ast_accuracy",
    }[task]


def result_dicts(results: Sequence[ItemResult]) -> list[dict[str, Any]]:
    return [asdict(r) for r in results]
