"""What strategies return: the answer plus how it was reached (fallbacks, LLM calls)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
