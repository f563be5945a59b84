"""LLM replies quoted in issue 21, and the constrained-output requests the LLM
strategies send (``response_format`` with a JSON schema naming only offered tools)."""

from __future__ import annotations

from typing import Any

import pytest

from sage.libs.agents import Tool, create_strategy
from sage.libs.agents.timing import parse_yes_no
from tests.libs.agents.stubs import StubClient

TOOLS = [
    Tool("w", "get_weather", "Get the weather forecast for a city"),
    Tool("e", "send_email", "Send an email message to a recipient"),
    Tool("f", "finish_order", "Finish and pay for the order in the cart"),
]


class Recorder(StubClient):
    """Stub that also keeps the extra request fields (response_format, ...)."""

    def __init__(self, reply: Any) -> None:
        super().__init__(reply)
        self.extras: list[dict[str, Any]] = []

    def chat(self, messages: Any, **kw: Any) -> str:
        self.extras.append({k: v for k, v in kw.items() if k not in ("max_tokens", "temperature")})
        return super().chat(messages)


@pytest.mark.parametrize(
    ("reply", "call"),
    [
        ("Call a tool? No.", False),  # the echoed question is not a "yes"
        ("No, I can answer that directly.", False),
        ("Yes.", True),
        ('{"call_tool": true}', True),
        ('{"call_tool": false}', False),
        ("I could call a tool.", None),  # "call" alone is neither
    ],
)
def test_timing_replies(reply: str, call: bool | None) -> None:
    assert parse_yes_no(reply) is call


def test_llm_timing_asks_for_constrained_json() -> None:
    client = Recorder('{"call_tool": false}')
    result = create_strategy("timing", "llm", client=client).decide("Hi, how are you today?")
    assert result.call is False and not result.fallback
    fmt = client.extras[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"]["properties"]["call_tool"] == {"type": "boolean"}


def test_llm_json_reads_bfcl_call_syntax() -> None:
    planner = create_strategy("planning", "llm_json", client=StubClient('get_weather(city="Rome")'))
    plan = planner.plan("What is the weather in Rome?", TOOLS)
    assert plan.steps == ["w"] and not plan.fallback
    both = StubClient('[get_weather(city="Rome"), send_email(to="ana@example.com")]')
    plan = create_strategy("planning", "llm_json", client=both).plan("weather, then mail", TOOLS)
    assert plan.steps == ["w", "e"]


def test_llm_json_schema_lists_only_shortlisted_tools() -> None:
    client = Recorder('{"steps": ["send_email"]}')
    plan = create_strategy("planning", "llm_json", client=client).plan("email Ana", TOOLS)
    assert plan.steps == ["e"]
    items = client.extras[0]["response_format"]["json_schema"]["schema"]["properties"]["steps"]
    assert set(items["items"]["enum"]) <= {t.name for t in TOOLS} and items["maxItems"] == 8


def test_react_finish_is_the_word_not_a_tool_containing_it() -> None:
    script = iter(["Action: finish_order", "Action: FINISH"])
    planner = create_strategy("planning", "react", client=StubClient(lambda _m: next(script)))
    plan = planner.plan("pay for my cart", TOOLS)
    assert plan.steps == ["f"]  # finish_order is a step; FINISH ends the loop
    constrained = iter(['{"action": "finish_order"}', '{"action": "FINISH"}'])
    client = Recorder(lambda _m: next(constrained))
    plan = create_strategy("planning", "react", client=client).plan("pay for my cart", TOOLS)
    assert plan.steps == ["f"]
    enum = client.extras[0]["response_format"]["json_schema"]["schema"]["properties"]["action"]
    assert "FINISH" in enum["enum"] and "finish_order" in enum["enum"]


def test_llm_rerank_reads_the_constrained_tool_name() -> None:
    client = Recorder('{"tool": "send_email"}')
    result = create_strategy("selection", "llm_rerank", client=client).select(
        "what is the weather", TOOLS, top_k=3
    )
    assert result.ranked[0] == "e" and not result.fallback
    assert client.extras[0]["response_format"]["json_schema"]["schema"]["required"] == ["tool"]


def test_unconstrained_strategies_send_no_response_format() -> None:
    client = Recorder("No.")
    create_strategy("timing", "llm", client=client, constrained=False).decide("hi")
    assert "response_format" not in client.extras[0]
