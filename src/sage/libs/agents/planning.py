"""Multi-step planning: turn an instruction into an ordered list of tool calls.

``retrieval`` (baseline: split the instruction into clauses, best tool per clause),
``llm_json`` (the LLM writes a JSON plan, which is repaired and validated against the
catalog; retrieval plan on failure) and ``react`` (one tool per LLM turn with a step
limit; simulated observations since the benchmark executes nothing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from sage.libs.agents.constrained import enum_schema, extract_json, json_schema_format
from sage.libs.agents.protocols import ChatClient
from sage.libs.agents.selection import BM25Selector, Selector
from sage.libs.agents.text import find_tool_mention, match_tool, tool_menu
from sage.libs.agents.tools import Tool
from sage.libs.agents.types import PlanResult

MAX_STEPS = 8

_CLAUSE_SPLIT = re.compile(
    r"(?:[;.!?]\s+|,?\s+(?:and then|then|after that|afterwards|next|and finally|finally|"
    r"once (?:that is|that's) done|followed by|and also|also)\s+|,\s+and\s+)",
    re.IGNORECASE,
)


class Planner(Protocol):
    name: str

    def plan(self, instruction: str, tools: Sequence[Tool]) -> PlanResult: ...


def split_clauses(instruction: str) -> list[str]:
    """Sub-tasks of an instruction, split at sequencing words ("then", "after that", ...)."""
    parts = [p.strip(" ,.;") for p in _CLAUSE_SPLIT.split(instruction)]
    return [p for p in parts if len(p.split()) >= 2] or [instruction.strip()]


class RetrievalPlanner:
    """Baseline: one best tool per clause, in clause order. No LLM."""

    name = "retrieval"

    def __init__(self, selector: Selector | None = None, max_steps: int = MAX_STEPS) -> None:
        self.selector = selector or BM25Selector()
        self.max_steps = max_steps

    def plan(self, instruction: str, tools: Sequence[Tool]) -> PlanResult:
        steps = []
        for clause in split_clauses(instruction)[: self.max_steps]:
            ranked = self.selector.select(clause, tools, top_k=1).ranked
            if ranked:
                steps.append(ranked[0])
        return PlanResult(steps=steps)

    def shortlist(
        self, instruction: str, tools: Sequence[Tool], per_clause: int = 3, cap: int = 16
    ) -> list[Tool]:
        """Tools worth showing an LLM: top few per clause, in clause order."""
        by_id = {t.id: t for t in tools}
        chosen: dict[str, None] = {}
        for clause in split_clauses(instruction)[: self.max_steps]:
            for tid in self.selector.select(clause, tools, top_k=per_clause).ranked:
                chosen.setdefault(tid, None)
        return [by_id[i] for i in list(chosen)[:cap]]


# One worked example: small models copy the format far more reliably than they follow
# an instruction (SmolLM2-135M ignored the bare instruction on every item we tried).
_EXAMPLE_TOOLS = (
    "- weather_get_forecast: Get the weather forecast for a city\n"
    "- email_send_message: Send an email message\n"
    "- ride_book_taxi: Book a taxi ride"
)
_EXAMPLE_TASK = "Check the forecast for Rome, then email it to Ana."


def plan_entries(data: Any) -> list[str]:
    """Tool names out of the shapes small models produce: ``["a","b"]``,
    ``{"steps": [...]}``, ``[{"tool": "a"}, ...]``."""
    if isinstance(data, dict):
        for key in ("steps", "plan", "tools", "calls", "actions"):
            if key in data:
                return plan_entries(data[key])
        for key in ("tool", "name", "function", "action"):
            if key in data:
                return [str(data[key])]
        return []
    if isinstance(data, list):
        out: list[str] = []
        for entry in data:
            if isinstance(entry, str):
                out.append(entry)
            elif isinstance(entry, dict):
                out.extend(plan_entries(entry))
        return out
    return []


_CALL = re.compile(r"([A-Za-z_][\w.\-]*)\s*\(")


def call_names(text: str) -> list[str]:
    """Function names written in call syntax, ``get_weather(city="Rome")`` (BFCL's own
    format, which small models copy), in order."""
    return _CALL.findall(text)


def plan_schema(names: Sequence[str], max_steps: int) -> dict[str, Any]:
    """``{"steps": [names...]}`` with every entry one of ``names``."""
    return {
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "items": {"type": "string", "enum": list(dict.fromkeys(names))},
                "minItems": 1,
                "maxItems": max_steps,
            }
        },
        "required": ["steps"],
    }


class LLMJsonPlanner:
    """The LLM writes ``{"steps": [tool names]}`` over a retrieval shortlist, constrained
    by a JSON schema whose names are the shortlist's (``constrained=False`` for servers
    without ``response_format``: free text, repaired; call syntax ``f(x=1)`` read too).
    Entries are matched to catalog tools (unknown ones dropped, marked repaired); an
    empty or unparseable plan falls back to the retrieval plan."""

    name = "llm_json"

    def __init__(
        self,
        client: ChatClient,
        baseline: RetrievalPlanner | None = None,
        max_tokens: int = 96,
        max_steps: int = MAX_STEPS,
        constrained: bool = True,
    ) -> None:
        self.client = client
        self.baseline = baseline or RetrievalPlanner()
        self.max_tokens = max_tokens
        self.max_steps = max_steps
        self.constrained = constrained

    def prompt(self, instruction: str, shortlist: Sequence[Tool]) -> list[dict[str, str]]:
        return [
            {
                "role": "system",
                "content": "You plan tool calls. Reply with JSON only: "
                '{"steps": ["tool_name", ...]} listing the tools to call in order.',
            },
            {"role": "user", "content": f"Tools:\n{_EXAMPLE_TOOLS}\n\nTask: {_EXAMPLE_TASK}"},
            {
                "role": "assistant",
                "content": '{"steps": ["weather_get_forecast", "email_send_message"]}',
            },
            {"role": "user", "content": f"Tools:\n{tool_menu(shortlist)}\n\nTask: {instruction}"},
        ]

    def plan(self, instruction: str, tools: Sequence[Tool]) -> PlanResult:
        shortlist = self.baseline.shortlist(instruction, tools)
        extra = {}
        if self.constrained and shortlist:
            schema = plan_schema([t.name for t in shortlist], self.max_steps)
            extra["response_format"] = json_schema_format("plan", schema)
        reply = self.client.chat(
            self.prompt(instruction, shortlist),
            max_tokens=self.max_tokens,
            temperature=0.0,
            **extra,
        )
        result = PlanResult(llm_calls=1)
        data, repaired = extract_json(reply)
        entries = plan_entries(data) if data is not None else []
        if (repaired or not entries) and call_names(reply):  # f(x=1) syntax, not JSON
            entries, repaired = call_names(reply), True
        steps = []
        for entry in entries:
            tool = match_tool(entry, shortlist) or match_tool(entry, tools)
            if tool is None:
                repaired = True
                continue
            steps.append(tool.id)
        result.repaired = repaired
        if not steps:
            base = self.baseline.plan(instruction, tools)
            result.steps = base.steps
            result.fell_back("no valid JSON plan" if data is None else "plan named no known tool")
        else:
            result.steps = steps[: self.max_steps]
        return result


_ACTION = re.compile(r"Action\s*:\s*([^\n]+)", re.IGNORECASE)
FINISH = "FINISH"


class ReActPlanner:
    """Thought/Action loop: each turn names the next tool or ``FINISH``; observations are
    simulated ("done"). With ``constrained`` (default) the turn is JSON
    ``{"action": <a shortlist name or FINISH>}`` by ``response_format``; else free text
    ``Action: name``. Stops at ``max_steps``, at FINISH (the exact word: a tool called
    ``finish_order`` is a tool), or when one action comes ``max_repeats`` times in a row
    (BFCL plans call a tool up to 3 times). An unparseable turn falls back to the
    retrieval plan for the remaining clauses."""

    name = "react"

    def __init__(
        self,
        client: ChatClient,
        baseline: RetrievalPlanner | None = None,
        max_steps: int = MAX_STEPS,
        max_tokens: int = 40,
        max_repeats: int = 4,
        constrained: bool = True,
    ) -> None:
        self.client = client
        self.baseline = baseline or RetrievalPlanner()
        self.max_steps = max_steps
        self.max_tokens = max_tokens
        self.max_repeats = max_repeats
        self.constrained = constrained

    def _say(self, action: str) -> str:
        return f'{{"action": "{action}"}}' if self.constrained else f"Action: {action}"

    def messages(
        self, instruction: str, shortlist: Sequence[Tool], history: Sequence[str]
    ) -> list[dict[str, str]]:
        done = "\n".join(f"{self._say(h)}\nObservation: done" for h in history)
        return [
            {
                "role": "system",
                "content": "You solve tasks by calling tools one at a time. Reply with "
                f"{self._say('<tool_name>')} for the next tool, or {self._say(FINISH)} "
                "when the task is complete.",
            },
            {
                "role": "user",
                "content": f"Tools:\n{_EXAMPLE_TOOLS}\n\nTask: {_EXAMPLE_TASK}\n"
                f"{self._say('weather_get_forecast')}\nObservation: done\n\nNext:",
            },
            {"role": "assistant", "content": self._say("email_send_message")},
            {
                "role": "user",
                "content": f"Tools:\n{tool_menu(shortlist)}\n\nTask: {instruction}\n"
                + (f"\n{done}\n" if done else "")
                + "\nNext:",
            },
        ]

    def parse(
        self, reply: str, shortlist: Sequence[Tool], tools: Sequence[Tool]
    ) -> Tool | str | None:
        data = extract_json(reply)[0]
        if isinstance(data, dict) and isinstance(data.get("action"), str):
            text = data["action"]
        else:
            m = _ACTION.search(reply)
            text = m.group(1) if m else reply.strip().splitlines()[0] if reply.strip() else ""
        head = re.split(r"[\s(]", text.strip(), maxsplit=1)[0] if text.strip() else ""
        if head.strip("`'\".,:;").upper() == FINISH:
            return FINISH
        return (
            match_tool(head, shortlist)
            or match_tool(text, shortlist)
            or find_tool_mention(text, shortlist)
            or match_tool(head, tools)
        )

    def plan(self, instruction: str, tools: Sequence[Tool]) -> PlanResult:
        shortlist = self.baseline.shortlist(instruction, tools)
        extra = {}
        if self.constrained and shortlist:
            schema = enum_schema("action", [t.name for t in shortlist] + [FINISH])
            extra["response_format"] = json_schema_format("action", schema)
        result = PlanResult()
        history: list[str] = []
        while len(result.steps) < self.max_steps:
            reply = self.client.chat(
                self.messages(instruction, shortlist, history),
                max_tokens=self.max_tokens,
                temperature=0.0,
                **extra,
            )
            result.llm_calls += 1
            action = self.parse(reply, shortlist, tools)
            if action == FINISH:
                break
            if action is None:
                base = self.baseline.plan(instruction, tools).steps
                result.steps.extend(base[len(result.steps) :])
                result.fell_back("unparseable action")
                break
            assert isinstance(action, Tool)
            history.append(action.name)
            result.steps.append(action.id)
            if history[-self.max_repeats :] == [action.name] * self.max_repeats:
                break  # a loop, not a plan: stop (the steps so far stand)
        result.steps = result.steps[: self.max_steps]
        return result
