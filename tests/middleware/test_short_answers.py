"""Short answers, the Index operator, tool calls and constrained JSON through LLMClient,
and the agent's native tool-call planner: all against the real engines behind the
gateway (one shared stack per session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sage.kernel import LocalEnvironment
from sage.libs.text import Chunk
from sage.llm.chat_reply import function_tool
from sage.llm.client import LLMClient
from sage.middleware.operators import AgentOperator, Generate, Index, Retrieve, index_chunks
from sage.middleware.services import VectorStoreService
from sage.middleware.tools import default_tools

pytestmark = pytest.mark.engines

CHUNKS = [Chunk("bridge#0", "bridge", "Harbour Bridge: The Harbour Bridge was opened in 1932 "
                "by the engineer Ada Lorne. It is about 503 metres long."),
          Chunk("market#0", "market", "The old market sells fish and bread every Saturday."),
          {"id": "tower#0", "text": "The clock tower is 61 metres tall and has four bells.",
           "metadata": {"doc_id": "tower"}}]
QUESTIONS = [("When was the Harbour Bridge opened?", "1932"),
             ("How tall is the clock tower?", "61 metres"),
             ("Who opened the Harbour Bridge?", "Ada Lorne")]


@pytest.fixture(scope="module")
def store(gateway_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("short") / "store"
    seen: list[int] = []
    assert index_chunks(gateway_url, CHUNKS, path, batch_size=2, on_batch=seen.append) == 3
    assert seen == [2, 1]
    return path


def test_index_operator_adds_and_saves(store: Path) -> None:
    loaded = VectorStoreService(store)
    assert loaded.search_text("clock tower bells", 1)[0]["doc_id"] == "tower"
    with pytest.raises(ValueError, match="needs"):
        Index("http://127.0.0.1:9").execute([{"text": "no id"}])


def answers(url: str, store: Path, mode: str) -> list[dict[str, Any]]:
    env = LocalEnvironment(f"short-{mode}")
    env.register_service("vector_store", VectorStoreService, str(store))
    out: list[dict[str, Any]] = []
    (env.from_batch([q for q, _ in QUESTIONS])
        .map(Retrieve, url, mode="hybrid", k=2)
        .map(Generate, url, answer=mode, candidates=4)
        .sink(out.append))
    env.submit()
    return sorted(out, key=lambda r: [q for q, _ in QUESTIONS].index(r["question"]))


def test_extractive_answers_are_spans_of_the_passages(gateway_url: str, store: Path) -> None:
    out = answers(gateway_url, store, "extractive")
    assert [r["answer"] for r in out] == [a for _, a in QUESTIONS]
    assert all(r["answer_source"] == "extractive" for r in out)


def test_choice_is_constrained_to_the_candidates(gateway_url: str, store: Path) -> None:
    out = answers(gateway_url, store, "choice")
    for record in out:
        assert record["answer_source"] == "model"  # the engine honoured the enum schema
        assert record["answer"] in record["answer_candidates"]


def test_generate_rejects_an_unknown_mode_and_needs_no_model_to_extract() -> None:
    with pytest.raises(ValueError, match="answer must be"):
        Generate("http://127.0.0.1:9", answer="guess")
    gen = Generate(answer="extractive")
    record = gen.execute({"question": "How tall is the tower?",
                          "retrieved": [{"text": "The tower is 61 metres tall."}]})
    assert record["answer"] == "61 metres"
    assert gen.execute("no passages")["answer_source"] == "none"


def test_client_tool_calls_and_json(gateway_url: str) -> None:
    weather = function_tool("get_weather", "Current weather of a city", {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    with LLMClient(gateway_url) as client:
        reply = client.chat_message("What is the weather in Paris?", tools=[weather],
                                    tool_choice="required", max_tokens=48)
        assert reply.finish_reason == "tool_calls" and reply.tool_calls
        assert reply.tool_calls[0].name == "get_weather"
        assert isinstance(reply.tool_calls[0].args()["city"], str)
        value = client.chat_json("Pick a colour.", {
            "type": "object", "properties": {"colour": {"enum": ["red", "blue"]}},
            "required": ["colour"]}, max_tokens=16)
        assert value["colour"] in ("red", "blue")
        assert isinstance(client.chat("Say hi.", max_tokens=4), str)


def test_agent_plans_with_native_tool_calls(gateway_url: str) -> None:
    agent = AgentOperator(default_tools(), gateway_url, planner="tools")
    result = agent.run("compute 17 * 23, then what time is it in Asia/Tokyo")
    trace = result["trace"]
    assert len(trace) == 2 and all(s["tool"] in ("calculator", "clock") for s in trace)
    # Each step is the model's tool call: the engine's grammar makes the call complete
    # and schema-valid within max_tokens, so no step falls back to the rules.
    assert result["fallbacks"] == 0 == sum(s["fallback"] for s in trace)
    assert all(s["planner"] == "model" and s["args"] for s in trace)
    agent.close()
    with pytest.raises(ValueError, match="planner"):
        AgentOperator(default_tools(), planner="magic")
