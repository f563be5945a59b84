"""Planning a step as a native tool call: the shortlisted tools go to the chat model as
OpenAI ``tools`` with ``tool_choice="required"``; the engine decodes under a grammar
(llama.cpp) or its own tool parser (vLLM, OpenAI), so the reply is a call to an offered
tool with schema-valid JSON arguments, not prose to parse. A reply without a usable
call is a *fallback* (the operator then uses the rule extractor) and is counted.
"""

from __future__ import annotations

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


def tool_schema(tool: AgentTool) -> dict[str, Any]:
    """The OpenAI ``tools`` entry of an agent tool (named by its id)."""
    spec = tool.spec
    return function_tool(tool.id, spec.description, spec.parameters or None)


class ToolCallPlanner:
    """``plan(step, tools) -> PlannedCall | None`` through ``client.chat_message``."""

    def __init__(self, client: Any, max_tokens: int = 96) -> None:
        self.client = client
        self.max_tokens = max_tokens

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
            tools=[tool_schema(t) for t in tools], tool_choice=choice,
            max_tokens=self.max_tokens)
        for call in reply.tool_calls:
            if call.name not in by_id:
                continue
            try:
                return PlannedCall(call.name, call.args())
            except ValueError:
                continue
        return None
