"""Trivial baselines every agent table shows beside the real strategies: a strategy
that does not beat them measures nothing. No model, no parameters."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from sage.libs.agents.tools import Tool
from sage.libs.agents.types import PlanResult, SelectionResult, TimingResult


class FirstCandidate:
    """Selection: the candidates in the order they were offered."""

    name = "first_candidate"

    def select(self, query: str, tools: Sequence[Tool], top_k: int = 10) -> SelectionResult:
        return SelectionResult(ranked=[t.id for t in tools[: max(top_k, 0)]])


class RandomOrder:
    """Selection: a random order, seeded by the query so reruns agree (chance level)."""

    name = "random"

    def select(self, query: str, tools: Sequence[Tool], top_k: int = 10) -> SelectionResult:
        seed = int(hashlib.sha1(query.encode()).hexdigest()[:8], 16)
        ids = [t.id for t in tools]
        random.Random(seed).shuffle(ids)
        return SelectionResult(ranked=ids[: max(top_k, 0)])


class AllCandidates:
    """Planning: every offered tool once, in the offered order."""

    name = "all_candidates"

    def plan(self, instruction: str, tools: Sequence[Tool]) -> PlanResult:
        return PlanResult(steps=[t.id for t in tools])


class AlwaysCall:
    """Timing: call a tool for every message (the majority answer on most tool data)."""

    name = "always_call"

    def decide(self, message: str, tools: Sequence[Tool] = ()) -> TimingResult:
        return TimingResult(call=True, confidence=1.0, source=self.name)


class NeverCall:
    """Timing: never call a tool."""

    name = "never_call"

    def decide(self, message: str, tools: Sequence[Tool] = ()) -> TimingResult:
        return TimingResult(call=False, confidence=1.0, source=self.name)
