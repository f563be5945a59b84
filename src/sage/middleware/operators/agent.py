"""The agent operator: select a tool -> plan its call -> act, per sub-task, with a step
limit and a trace of every step.

The task is split into clauses ("what is 17*23, then find the doc about X"). For each
clause a *selector* (a strategy name from ``sage.libs.agents``: ``bm25``, ``embedding``,
``hybrid``, ``llm_rerank``, or any object with ``select(query, tools, top_k)``) ranks the
tools; the *planner* turns the clause into arguments for the best tool that can take it
(``"rules"``: the tool's own extractor; ``"tools"``: the chat model fills the arguments
of the best-ranked tool as a native, grammar-constrained tool call; or a callable); the
tool runs and its observation is recorded. With a gateway URL and ``compose=True`` the chat model
writes the final answer from the observations; otherwise the observations are the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sage.common.errors import ConfigError
from sage.kernel import MapFunction
from sage.libs.agents import create_strategy
from sage.libs.agents.planning import split_clauses
from sage.middleware.operators.base import ModelCalling
from sage.middleware.operators.tool_planner import ToolCallPlanner
from sage.middleware.tools import AgentTool, ToolError

Planner = Callable[[str, AgentTool], "dict[str, Any] | None"]

COMPOSE_PROMPT = (
    "Task: {task}\nTool results:\n{observations}\n\n"
    "Write the answer to the task in one short sentence using the tool results."
)


@dataclass
class AgentStep:
    """One entry of the trace: which clause, what was selected, planned and observed."""

    step: int
    clause: str
    ranked: list[str] = field(default_factory=list)
    tool: str | None = None
    args: dict[str, Any] | None = None
    observation: str | None = None
    error: str | None = None
    seconds: float = 0.0
    planner: str = "rules"  # who planned the call: "rules", "model" or "custom"
    fallback: bool = False  # the model's plan was unusable; the rules planned instead


def rule_planner(clause: str, tool: AgentTool) -> dict[str, Any] | None:
    """Default planning step: the tool's own argument extractor."""
    return tool.extract(clause)


class AgentOperator(ModelCalling, MapFunction):
    """Input: a task string or ``{"task": ...}``. Output adds ``answer``, ``trace`` (list
    of :class:`AgentStep` dicts), ``truncated`` (the step limit cut the plan short) and
    ``fallbacks`` (steps whose model plan was unusable)."""

    def __init__(self, tools: Sequence[AgentTool], base_url: str | None = None, *,
                 selector: Any = "bm25", planner: Planner | str | None = None,
                 max_steps: int = 4, candidates: int = 3, compose: bool = False,
                 max_tokens: int = 48, client: Any = None, timeout: float = 120.0) -> None:
        if not tools:
            raise ConfigError("an agent needs at least one tool")
        if max_steps < 1:
            raise ConfigError("max_steps must be >= 1")
        if isinstance(planner, str) and planner not in ("rules", "tools"):
            raise ConfigError(f"planner must be 'rules', 'tools' or a callable, not {planner!r}")
        self._init_client(base_url, client, None, None, timeout,
                          required=compose or planner == "tools")
        self.tools = {t.id: t for t in tools}
        self.selector_spec = selector
        self.model_plans = planner == "tools"
        self.custom_planner = callable(planner)
        self.planner = planner if callable(planner) else rule_planner
        self.max_steps = max_steps
        self.candidates = candidates
        self.compose = compose
        self.max_tokens = max_tokens
        self._selector: Any = None

    @property
    def selector(self) -> Any:
        if self._selector is None:
            spec = self.selector_spec
            if isinstance(spec, str):
                client = self.client if (self.base_url or self._client) else None
                self._selector = create_strategy("selection", spec, client)
            else:
                self._selector = spec
        return self._selector

    def run(self, task: str) -> dict[str, Any]:
        """Run one task; returns ``{"task", "answer", "trace", "truncated"}``."""
        catalog = [t.spec for t in self.tools.values()]
        clauses = split_clauses(task)
        trace: list[AgentStep] = []
        for n, clause in enumerate(clauses[: self.max_steps], 1):
            started = time.perf_counter()
            step = AgentStep(n, clause)
            step.ranked = list(self.selector.select(clause, catalog, top_k=len(catalog)).ranked)
            self._plan(step)
            if step.tool is None:
                step.error = "no tool can act on this step"
            else:
                try:
                    step.observation = self.tools[step.tool].run(step.args or {})
                except ToolError as exc:
                    step.error = str(exc)
            step.seconds = time.perf_counter() - started
            trace.append(step)
        observations = [s.observation for s in trace if s.observation]
        if self.compose and observations:
            prompt = COMPOSE_PROMPT.format(task=task, observations="\n".join(observations))
            answer = self.client.chat(prompt, max_tokens=self.max_tokens).strip()
        else:
            answer = "; ".join(observations) or "I could not complete the task."
        return {"task": task, "answer": answer, "trace": [asdict(s) for s in trace],
                "truncated": len(clauses) > self.max_steps,
                "fallbacks": sum(s.fallback for s in trace)}

    def _plan(self, step: AgentStep) -> None:
        """Fill ``step.tool``/``step.args`` from the shortlist (best-ranked first)."""
        shortlist = [self.tools[t] for t in step.ranked[: self.candidates]]
        if self.model_plans and shortlist:
            # The selector picks the tool (it ranks better than a small model chooses);
            # the model writes the call's arguments.
            planned = ToolCallPlanner(self.client).plan(step.clause, shortlist[:1])
            if planned is not None:
                step.tool, step.args, step.planner = planned.tool, planned.args, "model"
                return
            step.fallback = True
        for tool in shortlist:
            args = self.planner(step.clause, tool)
            if args is not None:
                step.tool, step.args = tool.id, args
                step.planner = "custom" if self.custom_planner else "rules"
                return

    def execute(self, data: Any) -> dict[str, Any]:
        task = data if isinstance(data, str) else str(data["task"])
        result = self.run(task)
        return result if isinstance(data, str) else {**data, **result}

    def close(self) -> None:
        self._close_client()
