"""Strategies by task and name, so benchmarks and apps pick them from config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sage.libs.agents import planning, selection, timing

TASKS = ("selection", "planning", "timing")

Factory = Callable[..., Any]
_REGISTRY: dict[str, dict[str, tuple[Factory, frozenset[str]]]] = {t: {} for t in TASKS}


def register_strategy(task: str, name: str, factory: Factory, needs: tuple[str, ...] = ()) -> None:
    """``needs``: which client capabilities the factory takes ("embed", "chat")."""
    if task not in _REGISTRY:
        raise ValueError(f"unknown task {task!r}; tasks: {TASKS}")
    _REGISTRY[task][name] = (factory, frozenset(needs))


def available_strategies(task: str) -> list[str]:
    return list(_REGISTRY[task])


def strategy_needs(task: str, name: str) -> frozenset[str]:
    return _entry(task, name)[1]


def _entry(task: str, name: str) -> tuple[Factory, frozenset[str]]:
    if task not in _REGISTRY:
        raise ValueError(f"unknown task {task!r}; tasks: {TASKS}")
    try:
        return _REGISTRY[task][name]
    except KeyError:
        raise ValueError(
            f"unknown {task} strategy {name!r}; available: {available_strategies(task)}"
        ) from None


def create_strategy(
    task: str, name: str, client: Any = None, embed_client: Any = None, **options: Any
) -> Any:
    """Build strategy ``name`` for ``task``. ``client`` serves chat (and embeddings unless
    ``embed_client`` is given)."""
    factory, needs = _entry(task, name)
    embedder = embed_client or client
    if "chat" in needs and client is None:
        raise ValueError(f"{task} strategy {name!r} needs a chat client")
    if "embed" in needs and embedder is None:
        raise ValueError(f"{task} strategy {name!r} needs an embedding client")
    return factory(client=client, embed_client=embedder, **options)


def _builtin(task: str, name: str, cls: Callable[..., Any], *roles: str) -> None:
    """Register ``cls``, which takes the clients for ``roles`` ("chat" -> ``client``,
    "embed" -> ``embed_client``) positionally, then its options."""

    def factory(client: Any, embed_client: Any, **options: Any) -> Any:
        clients = [client if role == "chat" else embed_client for role in roles]
        return cls(*clients, **options)

    register_strategy(task, name, factory, roles)


_builtin("selection", "bm25", selection.BM25Selector)
_builtin("selection", "embedding", selection.EmbeddingSelector, "embed")
_builtin("selection", "hybrid", selection.HybridSelector, "embed")
_builtin("selection", "llm_rerank", selection.LLMRerankSelector, "chat", "embed")
_builtin("planning", "retrieval", planning.RetrievalPlanner)
_builtin("planning", "llm_json", planning.LLMJsonPlanner, "chat")
_builtin("planning", "react", planning.ReActPlanner, "chat")
_builtin("timing", "rules", timing.RulesTiming)
_builtin("timing", "embedding", timing.EmbeddingTiming, "embed")
_builtin("timing", "llm", timing.LLMTiming, "chat")
_builtin("timing", "hybrid", timing.HybridTiming, "chat", "embed")
