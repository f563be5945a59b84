"""Agent strategies: tool selection, multi-step planning and tool-call timing.

Pure algorithms (L3): model calls go through an injected client
(:class:`sage.libs.agents.protocols.ModelClient`), which ``sage.llm.client.LLMClient``
satisfies. Strategies register by name per task in :mod:`sage.libs.agents.registry`.
"""

from sage.libs.agents.protocols import ChatClient, EmbedClient, ModelClient
from sage.libs.agents.registry import (
    TASKS,
    available_strategies,
    baseline_strategies,
    create_strategy,
    register_strategy,
    strategy_needs,
)
from sage.libs.agents.tools import Tool, load_catalog, save_catalog
from sage.libs.agents.types import (
    PlanResult,
    SelectionExample,
    SelectionResult,
    TimingExample,
    TimingResult,
)

__all__ = [
    "TASKS",
    "ChatClient",
    "EmbedClient",
    "ModelClient",
    "PlanResult",
    "SelectionExample",
    "SelectionResult",
    "TimingExample",
    "TimingResult",
    "Tool",
    "available_strategies",
    "baseline_strategies",
    "create_strategy",
    "load_catalog",
    "register_strategy",
    "save_catalog",
    "strategy_needs",
]
