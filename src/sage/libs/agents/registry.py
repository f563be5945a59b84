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


register_strategy(
    "selection", "bm25", lambda client, embed_client, **o: selection.BM25Selector(**o)
)
register_strategy(
    "selection",
    "embedding",
    lambda client, embed_client, **o: selection.EmbeddingSelector(embed_client, **o),
    ("embed",),
)
register_strategy(
    "selection",
    "hybrid",
    lambda client, embed_client, **o: selection.HybridSelector(embed_client, **o),
    ("embed",),
)
register_strategy(
    "selection",
    "llm_rerank",
    lambda client, embed_client, **o: selection.LLMRerankSelector(client, embed_client, **o),
    ("chat", "embed"),
)
register_strategy(
    "planning", "retrieval", lambda client, embed_client, **o: planning.RetrievalPlanner(**o)
)
register_strategy(
    "planning",
    "llm_json",
    lambda client, embed_client, **o: planning.LLMJsonPlanner(client, **o),
    ("chat",),
)
register_strategy(
    "planning",
    "react",
    lambda client, embed_client, **o: planning.ReActPlanner(client, **o),
    ("chat",),
)
register_strategy("timing", "rules", lambda client, embed_client, **o: timing.RulesTiming())
register_strategy(
    "timing",
    "embedding",
    lambda client, embed_client, **o: timing.EmbeddingTiming(embed_client, **o),
    ("embed",),
)
register_strategy(
    "timing", "llm", lambda client, embed_client, **o: timing.LLMTiming(client, **o), ("chat",)
)
register_strategy(
    "timing",
    "hybrid",
    lambda client, embed_client, **o: timing.HybridTiming(client, embed_client, **o),
    ("chat", "embed"),
)
