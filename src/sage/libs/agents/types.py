"""What strategies return (the answer plus how it was reached: fallbacks, LLM calls) and
the labelled examples tunable strategies are fitted on."""

from __future__ import annotations

from dataclasses import dataclass, field

from sage.libs.agents.tools import Tool


@dataclass
class StrategyTrace:
    fallback: bool = False
    fallback_reason: str | None = None
    llm_calls: int = 0
    repaired: bool = False

    def fell_back(self, reason: str) -> None:
        self.fallback = True
        self.fallback_reason = reason


@dataclass
class SelectionResult(StrategyTrace):
    ranked: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)


@dataclass
class PlanResult(StrategyTrace):
    steps: list[str] = field(default_factory=list)


@dataclass
class TimingResult(StrategyTrace):
    call: bool = False
    confidence: float = 0.0
    source: str = ""
    # How strongly the strategy leans to "call" (any monotone scale), for AUROC; None
    # when the strategy only gives a yes/no.
    score: float | None = None


@dataclass(frozen=True)
class TimingExample:
    """A labelled timing decision a strategy can be fitted on."""

    message: str
    tools: tuple[Tool, ...]
    should_call: bool


@dataclass(frozen=True)
class SelectionExample:
    """A labelled selection query: the pool and the ids of every right tool."""

    query: str
    tools: tuple[Tool, ...]
    gold: tuple[str, ...]
