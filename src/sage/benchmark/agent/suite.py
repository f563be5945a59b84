"""The whole agent benchmark: datasets x tasks x strategies, one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sage.benchmark.agent import datasets as ds
from sage.benchmark.agent.metering import MeteredClient
from sage.benchmark.agent.runner import ItemResult, pick_items, run_strategy, summarize
from sage.libs.agents import TASKS, available_strategies, create_strategy, strategy_needs


@dataclass
class AgentBenchConfig:
    datasets: Sequence[str] = ("synthetic",)
    tasks: Sequence[str] = TASKS
    strategies: Sequence[str] | None = None  # None: every registered one
    split: str = "test"
    limit: int | None = None
    llm_limit: int | None = None  # a smaller limit for strategies that call the LLM
    seed: int = 0
    bfcl_dir: Path | None = None
    metatool_file: Path | None = None
    data_dir: Path | None = None
    # per strategy name, keyword options for its factory (e.g. {"react": {"max_steps": 4}})
    strategy_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


@dataclass
class AgentBenchRun:
    results: list[ItemResult]
    summary: list[dict[str, Any]]
    errors: list[str]
    skipped: list[str] = field(default_factory=list)


def load_dataset(name: str, config: AgentBenchConfig) -> ds.Dataset:
    if name == "synthetic":
        return ds.synthetic(config.data_dir) if config.data_dir else ds.synthetic()
    if name == "bfcl":
        return ds.bfcl(config.bfcl_dir, seed=config.seed)
    if name == "metatool":
        if config.metatool_file is None:
            raise ValueError("the metatool dataset needs --metatool-file")
        return ds.metatool(config.metatool_file)
    raise ValueError(f"unknown dataset {name!r}; choose synthetic, bfcl or metatool")


def uses_llm(task: str, name: str) -> bool:
    return "chat" in strategy_needs(task, name)


def plan_work(
    config: AgentBenchConfig, loaded: Sequence[ds.Dataset], chat: bool, embed: bool
) -> tuple[list[tuple[ds.Dataset, str, str, list[Any]]], list[str]]:
    """(dataset, task, strategy, items) to run, and why anything is skipped."""
    work, skipped = [], []
    for dataset in loaded:
        split = config.split if dataset.name == "synthetic" else None
        for task in config.tasks:
            names = [
                s
                for s in (config.strategies or available_strategies(task))
                if s in available_strategies(task)
            ]
            for name in names:
                needs = strategy_needs(task, name)
                if ("chat" in needs and not chat) or ("embed" in needs and not embed):
                    skipped.append(
                        f"{dataset.name}/{task}/{name}: needs {'/'.join(sorted(needs))} "
                        "(give --base-url or --start-stack)"
                    )
                    continue
                limit = (
                    config.llm_limit if uses_llm(task, name) and config.llm_limit else config.limit
                )
                items = pick_items(dataset.items, task, split, limit, config.seed)
                if items:
                    work.append((dataset, task, name, items))
    return work, skipped


def run_agent_benchmark(
    config: AgentBenchConfig,
    client: Any = None,
    embed_client: Any = None,
    progress: Callable[[str, int], Callable[[], None]] | None = None,
) -> AgentBenchRun:
    """Run every (dataset, task, strategy). ``client`` serves chat (and embeddings unless
    ``embed_client``); ``progress(label, total)`` returns a per-item tick."""
    loaded, missing = [], []
    for name in config.datasets:
        try:
            loaded.append(load_dataset(name, config))
        except FileNotFoundError as exc:
            if name != "bfcl":  # a file the user named: an error
                raise
            missing.append(f"{name}: {exc}")  # shared data not set up here: say so, run the rest
    errors = [str(e) for d in loaded for e in d.errors]
    meter = MeteredClient(client) if client is not None else None
    embedder = embed_client or client
    work, skipped = plan_work(config, loaded, chat=client is not None, embed=embedder is not None)
    skipped = missing + skipped
    results: list[ItemResult] = []
    for dataset, task, name, items in work:
        options = config.strategy_options.get(name, {})
        strategy = create_strategy(task, name, client=meter, embed_client=embedder, **options)
        tick = progress(f"{dataset.name} {task}/{name}", len(items)) if progress else None
        results += run_strategy(dataset, task, name, strategy, items, meter, tick)
    return AgentBenchRun(results, summarize(results), errors, skipped)
