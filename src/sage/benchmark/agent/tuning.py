"""The transfer protocol's fitting step: a tunable strategy (``fit(train, dev)``) is fitted
on one data set's train and dev splits only; the items it is scored on are never seen."""

from __future__ import annotations

import time
from typing import Any

from sage.benchmark.agent.datasets import Dataset
from sage.benchmark.agent.schema import AgentItem
from sage.libs.agents import SelectionExample, TimingExample


def is_tunable(strategy: Any) -> bool:
    return callable(getattr(strategy, "fit", None))


def examples(dataset: Dataset, task: str, split: str) -> list[Any]:
    """The split's items of ``task`` as the examples strategies are fitted on."""
    items: list[AgentItem] = [i for i in dataset.items if i.task == task and i.split == split]
    if task == "timing":
        return [
            TimingExample(i.instruction, tuple(dataset.candidates(i)) if i.candidates else (),
                          bool(i.should_call))
            for i in items
        ]
    if task == "selection":
        return [
            SelectionExample(i.instruction, tuple(dataset.candidates(i)), tuple(i.gold_tools))
            for i in items
        ]
    return []


def fit_strategy(strategy: Any, task: str, dataset: Dataset) -> dict[str, Any]:
    """Fit on ``dataset``'s train + dev; returns what was chosen and how long it took."""
    train, dev = examples(dataset, task, "train"), examples(dataset, task, "dev")
    if not train and not dev:
        raise ValueError(f"{dataset.name} has no train/dev {task} items to tune on")
    start = time.perf_counter()
    chosen = strategy.fit(train, dev)
    return {
        "train": len(train),
        "dev": len(dev),
        "fit_seconds": round(time.perf_counter() - start, 2),
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in chosen.items()},
    }
