"""Strategies by task and name (one :class:`sage.common.registry.Registry` per task),
so benchmarks and apps pick them from config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sage.common.errors import ConfigError
from sage.common.registry import Registry
from sage.libs.agents import (
    baselines,
    learned_rerank,
    learned_timing,
    planning,
    selection,
    selection_fusion,
    timing,
)

TASKS = ("selection", "planning", "timing")

Factory = Callable[..., Any]


@dataclass(frozen=True)
class StrategySpec:
    factory: Factory
    needs: frozenset[str]  # client capabilities: "chat", "embed"
    baseline: bool = False  # a trivial reference row every report shows


STRATEGIES: dict[str, Registry[StrategySpec]] = {t: Registry(f"{t} strategy") for t in TASKS}


def _task(task: str) -> Registry[StrategySpec]:
    if task not in STRATEGIES:
        raise ConfigError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    return STRATEGIES[task]


def register_strategy(
    task: str, name: str, factory: Factory, needs: tuple[str, ...] = (), baseline: bool = False
) -> None:
    """``needs``: which client capabilities the factory takes ("embed", "chat")."""
    _task(task).register(name, StrategySpec(factory, frozenset(needs), baseline), replace=True)


def available_strategies(task: str, baselines: bool = True) -> list[str]:
    """Registered names, sorted."""
    reg = _task(task)
    return [n for n in reg.names() if baselines or not reg.get(n).baseline]


def baseline_strategies(task: str) -> list[str]:
    return [n for n in available_strategies(task) if _task(task).get(n).baseline]


def strategy_needs(task: str, name: str) -> frozenset[str]:
    return _task(task).get(name).needs


def create_strategy(
    task: str, name: str, client: Any = None, embed_client: Any = None, **options: Any
) -> Any:
    """Build strategy ``name`` for ``task``. ``client`` serves chat (and embeddings unless
    ``embed_client`` is given)."""
    spec = _task(task).get(name)
    embedder = embed_client or client
    if "chat" in spec.needs and client is None:
        raise ConfigError(f"{task} strategy {name!r} needs a chat client")
    if "embed" in spec.needs and embedder is None:
        raise ConfigError(f"{task} strategy {name!r} needs an embedding client")
    return spec.factory(client=client, embed_client=embedder, **options)


def _builtin(task: str, name: str, cls: Callable[..., Any], *roles: str, baseline=False) -> None:
    """Register ``cls``, which takes the clients for ``roles`` ("chat" -> ``client``,
    "embed" -> ``embed_client``) positionally, then its options."""

    def factory(client: Any, embed_client: Any, **options: Any) -> Any:
        clients = [client if role == "chat" else embed_client for role in roles]
        return cls(*clients, **options)

    register_strategy(task, name, factory, roles, baseline=baseline)


_builtin("selection", "first_candidate", baselines.FirstCandidate, baseline=True)
_builtin("selection", "random", baselines.RandomOrder, baseline=True)
_builtin("selection", "bm25", selection.BM25Selector)
_builtin("selection", "embedding", selection.EmbeddingSelector, "embed")
_builtin("selection", "hybrid", selection.HybridSelector, "embed")
_builtin("selection", "fusion", selection_fusion.FusionSelector, "embed")
_builtin("selection", "learned", learned_rerank.LearnedReranker, "embed")
_builtin("selection", "llm_rerank", selection.LLMRerankSelector, "chat", "embed")
_builtin("planning", "all_candidates", baselines.AllCandidates, baseline=True)
_builtin("planning", "retrieval", planning.RetrievalPlanner)
_builtin("planning", "llm_json", planning.LLMJsonPlanner, "chat")
_builtin("planning", "react", planning.ReActPlanner, "chat")
_builtin("timing", "always_call", baselines.AlwaysCall, baseline=True)
_builtin("timing", "never_call", baselines.NeverCall, baseline=True)
_builtin("timing", "rules", timing.RulesTiming)
_builtin("timing", "embedding", timing.EmbeddingTiming, "embed")
_builtin("timing", "learned", learned_timing.LearnedTiming, "embed")
_builtin("timing", "learned_plain", learned_timing.PlainLearnedTiming, "embed")
_builtin("timing", "llm", timing.LLMTiming, "chat")
_builtin("timing", "hybrid", timing.HybridTiming, "chat", "embed")
