"""The whole agent benchmark: eval data sets x tasks x strategies (trivial baselines
always included), with tunable strategies fitted on each ``tune_on`` data set's
train/dev split and scored on the evaluated split, so in-distribution and transfer
figures come out side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sage.benchmark.agent import datasets as ds
from sage.benchmark.agent.calling import Caller, run_calling
from sage.benchmark.agent.metering import MeteredClient
from sage.benchmark.agent.runner import ItemResult, pick_items, run_strategy
from sage.benchmark.agent.summary import summarize
from sage.benchmark.agent.tuning import fit_strategy, is_tunable
from sage.common.errors import ConfigError
from sage.libs.agents import available_strategies, baseline_strategies, create_strategy
from sage.libs.agents import strategy_needs as needs_of

TUNE_SETS = ("synthetic", "bfcl")


@dataclass
class AgentBenchConfig:
    datasets: Sequence[str] = ("synthetic",)  # evaluated on (--eval-on)
    tasks: Sequence[str] = ("selection", "planning", "timing")
    strategies: Sequence[str] | None = None  # None: every registered one
    split: str = "test"  # evaluated split; "all" = every item
    limit: int | None = None
    llm_limit: int | None = None  # a smaller limit for strategies that call the LLM
    seed: int = 0
    bfcl_dir: Path | None = None
    metatool_file: Path | None = None
    data_dir: Path | None = None
    tune_on: Sequence[str] = ("synthetic",)  # train/dev splits that fit tunable strategies
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
    fitted: list[dict[str, Any]] = field(default_factory=list)  # what tuning chose


def load_dataset(name: str, config: AgentBenchConfig) -> ds.Dataset:
    if name == "synthetic":
        return ds.synthetic(config.data_dir) if config.data_dir else ds.synthetic()
    if name == "bfcl":
        return ds.bfcl(config.bfcl_dir, seed=config.seed)
    if name == "metatool":
        if config.metatool_file is None:
            raise ConfigError("the metatool dataset needs --metatool-file")
        return ds.metatool(config.metatool_file)
    raise ConfigError(f"unknown dataset {name!r}; choose synthetic, bfcl or metatool")


def uses_llm(task: str, name: str) -> bool:
    return "chat" in needs_of(task, name)


def strategy_names(config: AgentBenchConfig, task: str) -> list[str]:
    """The asked-for strategies plus the task's baselines (always shown)."""
    known = available_strategies(task)
    asked = [s for s in (config.strategies or known) if s in known]
    return list(dict.fromkeys([*baseline_strategies(task), *asked]))


def run_agent_benchmark(
    config: AgentBenchConfig,
    client: Any = None,
    embed_client: Any = None,
    progress: Callable[[str, int], Callable[[], None]] | None = None,
    caller: Caller | None = None,
    caller_name: str = "default",
) -> AgentBenchRun:
    """Run every (dataset, task, strategy[, tune set]). ``client`` serves chat (and
    embeddings unless ``embed_client``); ``caller`` answers ``-t calling`` (a
    :class:`ToolCaller`); ``progress(label, total)`` returns a per-item tick."""
    loaded: dict[str, ds.Dataset] = {}
    skipped: list[str] = []
    for name in dict.fromkeys([*config.datasets, *config.tune_on]):
        try:
            loaded[name] = load_dataset(name, config)
        except FileNotFoundError as exc:
            if name != "bfcl":  # a file the user named: an error
                raise
            skipped.append(f"{name}: {exc}")  # shared data not set up here: say so
    for name in config.tune_on:
        if name not in TUNE_SETS:
            raise ConfigError(f"--tune-on takes {' or '.join(TUNE_SETS)}, not {name!r}")
    tune_sets = [loaded[n] for n in config.tune_on if n in loaded]
    errors = [str(e) for d in loaded.values() for e in d.errors]
    meter = MeteredClient(client) if client is not None else None
    embedder = embed_client or client
    results: list[ItemResult] = []
    fitted: list[dict[str, Any]] = []
    cache: dict[tuple[str, str, str], Any] = {}
    for dname in config.datasets:
        dataset = loaded.get(dname)
        if dataset is None:
            continue
        split = None if config.split == "all" else config.split
        for task in [t for t in config.tasks if t != "calling"]:
            for name in strategy_names(config, task):
                needs = needs_of(task, name)
                if ("chat" in needs and meter is None) or ("embed" in needs and embedder is None):
                    skipped.append(
                        f"{dname}/{task}/{name}: needs {'/'.join(sorted(needs))} "
                        "(give --base-url, --start-stack or --embeddings local)"
                    )
                    continue
                limit = config.llm_limit if uses_llm(task, name) and config.llm_limit else config.limit
                items = pick_items(dataset.items, task, split, limit, config.seed)
                if not items:
                    continue
                options = config.strategy_options.get(name, {})

                def make(task: str = task, name: str = name, options: dict = options) -> Any:
                    return create_strategy(task, name, client=meter, embed_client=embedder, **options)

                runs: list[tuple[str, Any]] = []
                probe = make()
                if not is_tunable(probe) or not tune_sets:
                    if getattr(probe, "needs_fit", False):
                        skipped.append(f"{dname}/{task}/{name}: learned, give --tune-on")
                    else:
                        runs.append(("-", probe))
                for tune in tune_sets if is_tunable(probe) else []:  # one row per tune set
                    if tune.name == dname and config.split in ("train", "dev", "all"):
                        skipped.append(
                            f"{dname}/{task}/{name} tuned on {tune.name}: the {config.split} "
                            "split holds the items it is fitted on"
                        )
                        continue
                    key = (task, name, tune.name)
                    if key not in cache:
                        strategy = make() if cache else probe
                        fitted.append(
                            {"task": task, "strategy": name, "tuned_on": tune.name,
                             **fit_strategy(strategy, task, tune)}
                        )
                        cache[key] = strategy
                    runs.append((tune.name, cache[key]))
                for tuned_on, strategy in runs:
                    label = f"{dname} {task}/{name}" + (f" (tuned on {tuned_on})" if tuned_on != "-" else "")
                    tick = progress(label, len(items)) if progress else None
                    results += run_strategy(
                        dataset, task, name, strategy, items, meter, tick, tuned_on=tuned_on
                    )
        if "calling" in config.tasks:
            limit = config.llm_limit or config.limit
            items = pick_items(dataset.items, "calling", split, limit, config.seed)
            if caller is None:
                skipped.append(f"{dname}/calling: needs a model (give --base-url or --start-stack)")
            elif items:
                tick = progress(f"{dname} calling/{caller_name}", len(items)) if progress else None
                results += run_calling(dname, caller_name, items, caller, tick)
    return AgentBenchRun(results, summarize(results, config.seed), errors, skipped, fitted)
