"""What a chat completion returns to a caller that wants more than the text: the tool
calls (OpenAI ``tool_calls``), the finish reason and the usage, parsed once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    """One ``tool_calls`` entry; ``arguments`` is the JSON string the model wrote."""

    id: str
    name: str
    arguments: str

    def args(self) -> dict[str, Any]:
        """The arguments as a dict; ``ValueError`` when they are not a JSON object."""
        value = json.loads(self.arguments or "{}")
        if not isinstance(value, dict):
            raise ValueError(f"arguments of {self.name!r} are not a JSON object")
        return value


@dataclass(frozen=True)
class ChatReply:
    """The first choice of a chat completion."""

    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> ChatReply:
        choice = (data.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        calls = [ToolCall(str(c.get("id", "")), str(c["function"]["name"]),
                          str(c["function"].get("arguments") or "{}"))
                 for c in message.get("tool_calls") or [] if c.get("function")]
        return cls(str(message.get("content") or ""), calls, choice.get("finish_reason"),
                   dict(data.get("usage") or {}))

    def json(self) -> Any:
        """The content parsed as JSON (``response_format`` replies); ``ValueError`` if
        it does not parse."""
        return json.loads(self.content)


def function_tool(name: str, description: str = "",
                  parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAI ``tools`` entry for a function with a JSON-Schema ``parameters``."""
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": dict(parameters or {"type": "object", "properties": {}})}}


def json_schema_format(schema: Mapping[str, Any], name: str = "answer",
                       strict: bool = True) -> dict[str, Any]:
    """An OpenAI ``response_format`` that constrains the reply to ``schema``."""
    return {"type": "json_schema",
            "json_schema": {"name": name, "schema": dict(schema), "strict": strict}}
