"""The agent tool interface: describe (for selection), extract args (plan), run (act)."""

from __future__ import annotations

from typing import Any

from sage.libs.agents import Tool


class ToolError(RuntimeError):
    """A tool refused its input; the message goes into the agent's trace."""


class AgentTool:
    """Subclass and set ``spec``; implement ``extract`` and ``run``."""

    spec: Tool

    @property
    def id(self) -> str:
        return self.spec.id

    def extract(self, clause: str) -> dict[str, Any] | None:
        """Arguments for this tool from one clause of the task, or ``None`` when the
        clause holds nothing this tool can act on."""
        raise NotImplementedError

    def run(self, args: dict[str, Any]) -> str:
        raise NotImplementedError
