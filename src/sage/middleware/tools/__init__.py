"""Real tools for the agent operator: a calculator, file search over a corpus, a clock.

Each is an :class:`AgentTool`: a catalog entry (``sage.libs.agents.Tool``, what tool
selection ranks), an argument extractor (the rule-based planning step: clause -> args)
and ``run(args) -> str``.
"""

from sage.middleware.tools.base import AgentTool, ToolError
from sage.middleware.tools.calculator import CalculatorTool, safe_eval
from sage.middleware.tools.clock import ClockTool
from sage.middleware.tools.file_search import FileSearchTool


def default_tools(corpus_dir: str | None = None) -> list[AgentTool]:
    """Calculator, clock and (when a corpus folder is given) file search."""
    tools: list[AgentTool] = [CalculatorTool(), ClockTool()]
    if corpus_dir is not None:
        tools.append(FileSearchTool(corpus_dir))
    return tools


__all__ = [
    "AgentTool",
    "CalculatorTool",
    "ClockTool",
    "FileSearchTool",
    "ToolError",
    "default_tools",
    "safe_eval",
]
