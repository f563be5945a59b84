"""Tools (safe calculator, clock, file search) and the agent operator's loop and trace."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from sage.apps.rag_demo import corpus_dir
from sage.kernel import LocalEnvironment
from sage.libs.agents import SelectionResult
from sage.middleware.operators import AgentOperator
from sage.middleware.tools import (
    CalculatorTool,
    ClockTool,
    FileSearchTool,
    ToolError,
    default_tools,
    safe_eval,
)
from sage.middleware.tools.calculator import find_expression


def test_safe_eval_arithmetic() -> None:
    assert safe_eval("2 + 3 * (4 - 1)") == 11
    assert safe_eval("2^10") == 1024
    assert safe_eval("sqrt(16) + abs(-2)") == 6
    assert safe_eval("-7 // 2") == -4


@pytest.mark.parametrize("bad", ["__import__('os')", "open('x')", "(1).real", "a + 1",
                                 "9 ** 9 ** 9", "1 / 0", "[1, 2]", "'a' * 3", "lambda: 1",
                                 "sqrt(x=4)", "1e200 * 1e200", "True + 1"])
def test_safe_eval_rejects(bad: str) -> None:
    with pytest.raises(ToolError):
        safe_eval(bad)


def test_expressions_found_in_sentences() -> None:
    assert find_expression("What is 12 times (3 + 4)?") == "12 * (3 + 4)"
    assert find_expression("what is 15% of 240") == "15 / 100 * 240"
    assert find_expression("no numbers here") is None
    assert CalculatorTool().run({"expression": "10 / 4"}) == "10 / 4 = 2.5"


def test_clock_and_file_search() -> None:
    fixed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    clock = ClockTool(now=lambda: fixed)
    assert clock.extract("compute 2+2") is None
    args = clock.extract("what time is it in Asia/Tokyo")
    assert clock.run(args) == "Friday 2026-01-02 12:04:05 Asia/Tokyo"
    with pytest.raises(ToolError):
        clock.run({"timezone": "Mars/Olympus"})
    search = FileSearchTool(corpus_dir())
    assert search.extract("search the documents for lantern turtles") == {
        "query": "lantern turtles"}
    assert search.run({"query": "lantern turtle nesting"}).startswith("turtles:")


def test_agent_selects_plans_and_acts_with_a_trace() -> None:
    fixed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    tools = [CalculatorTool(), ClockTool(now=lambda: fixed), FileSearchTool(corpus_dir())]
    agent = AgentOperator(tools)
    result = agent.run("What is 17 times 23, then what time is it now, "
                       "and then search the files for the salt pans")
    trace = result["trace"]
    assert [s["tool"] for s in trace] == ["calculator", "clock", "file_search"]
    assert trace[0]["observation"] == "17 * 23 = 391"
    assert trace[0]["ranked"][0] == "calculator"
    assert "salt" in trace[2]["observation"]
    assert "391" in result["answer"] and not result["truncated"]
    assert all(s["seconds"] >= 0 for s in trace)


def test_step_limit_and_tool_errors_are_traced() -> None:
    agent = AgentOperator(default_tools(), max_steps=2)
    result = agent.run("compute 1/0. then compute 2+2. then compute 3+3")
    assert result["truncated"] and len(result["trace"]) == 2
    assert "cannot compute" in result["trace"][0]["error"]
    assert result["trace"][1]["observation"] == "2+2 = 4"
    nothing = agent.run("tell me a joke about cats")
    assert nothing["trace"][0]["error"] == "no tool can act on this step"


class AlwaysClock:
    """A custom selection strategy: the operator takes any object with ``select``."""

    name = "always-clock"

    def select(self, query: str, tools: Any, top_k: int = 10) -> SelectionResult:
        return SelectionResult(ranked=["clock"])


def test_agent_in_a_pipeline_with_a_pluggable_selector() -> None:
    env = LocalEnvironment("agent")
    out: list[dict[str, Any]] = []
    env.from_batch([{"task": "what day is it today", "user": "ana"}]).map(
        AgentOperator, default_tools(), selector=AlwaysClock()).sink(out.append)
    env.submit()
    assert out[0]["user"] == "ana" and out[0]["trace"][0]["tool"] == "clock"
    with pytest.raises(ValueError):
        AgentOperator([])
