"""Planning a step as a native tool call: the tools go to the chat model as OpenAI
``tools`` (one tool: a named ``tool_choice``; several: ``"required"``); the engine
decodes under a grammar (llama.cpp) or its own tool parser (vLLM, OpenAI), so the reply
is a call to an offered tool with schema-valid JSON arguments, not prose to parse.
``max_string`` adds a ``maxLength`` to string arguments, so a small model cannot ramble
inside a string until ``max_tokens`` cuts the call off (off by default: SAGE's llama
engine bounds free strings itself; useful against other servers). A reply without a usable call is
a *fallback* (the operator then uses the rule extractor) and is counted. SAGE's llama
engine closes a constrained call within ``max_tokens`` (early if it must), so with it
every step gets a call; other servers may still cut one off.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sage.llm.chat_reply import function_tool
from sage.middleware.tools import AgentTool

PLANNER_SYSTEM = ("You plan one step of a task: call the one tool that does it, with "
                  "argument values taken from the step.")


@dataclass
class PlannedCall:
    tool: str
    args: dict[str, Any]


def tool_schema(tool: AgentTool, max_string: int | None = None) -> dict[str, Any]:
    """The OpenAI ``tools`` entry of an agent tool (named by its id); top-level string
    parameters without a length limit get ``maxLength=max_string``."""
    spec = tool.spec
    params = copy.deepcopy(spec.parameters) if spec.parameters else None
    if params and max_string is not None:
        for prop in (params.get("properties") or {}).values():
            if isinstance(prop, dict) and prop.get("type") == "string":
                prop.setdefault("maxLength", max_string)
    return function_tool(tool.id, spec.description, params)


class ToolCallPlanner:
    """``plan(step, tools) -> PlannedCall | None`` through ``client.chat_message``."""

    def __init__(self, client: Any, max_tokens: int = 128,
                 max_string: int | None = None) -> None:
        self.client = client
        self.max_tokens = max_tokens
        self.max_string = max_string

    def plan(self, step: str, tools: Sequence[AgentTool]) -> PlannedCall | None:
        if not tools:
            return None
        by_id = {t.id: t for t in tools}
        choice: str | dict[str, Any] = "required"
        if len(tools) == 1:
            choice = {"type": "function", "function": {"name": tools[0].id}}
        reply = self.client.chat_message(
            [{"role": "system", "content": PLANNER_SYSTEM},
             {"role": "user", "content": step}],
            tools=[tool_schema(t, self.max_string) for t in tools], tool_choice=choice,
            max_tokens=self.max_tokens)
        for call in reply.tool_calls:
            if call.name not in by_id:
                continue
            try:
                return PlannedCall(call.name, call.args())
            except ValueError:
                continue
        return None
