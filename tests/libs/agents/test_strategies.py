"""Every registered strategy on hand-made tools, with a stub client."""

from __future__ import annotations

import pytest

from sage.common.errors import ConfigError
from sage.libs.agents import available_strategies, baseline_strategies, create_strategy
from sage.libs.agents.planning import extract_json, plan_entries, split_clauses
from sage.libs.agents.selection import HybridSelector, LLMRerankSelector
from sage.libs.agents.text import match_tool
from sage.libs.agents.tools import Tool, load_catalog, save_catalog
from tests.libs.agents.stubs import StubClient

TOOLS = [
    Tool("w", "get_weather", "Get the weather forecast for a city", category="weather"),
    Tool("e", "send_email", "Send an email message to a recipient", category="email"),
    Tool("c", "create_event", "Create a calendar event at a date", category="calendar"),
    Tool("t", "book_taxi", "Book a taxi ride to a destination", category="ride"),
]


@pytest.mark.parametrize("name", ["bm25", "embedding", "hybrid"])
def test_retrieval_selectors_rank_the_matching_tool_first(name: str) -> None:
    selector = create_strategy("selection", name, client=StubClient())
    result = selector.select("send an email to Bob", TOOLS, top_k=3)
    assert result.ranked[0] == "e"
    assert len(result.ranked) == 3
    assert not result.fallback


def test_llm_rerank_follows_the_llm_and_records_fallbacks() -> None:
    def pick_taxi(messages: list[dict[str, str]]) -> str:
        menu = messages[-1]["content"]
        lines = [ln for ln in menu.splitlines() if ln[:1].isdigit()]
        return next(ln.split(".")[0] for ln in lines if "book_taxi" in ln)

    selector = create_strategy("selection", "llm_rerank", client=StubClient(pick_taxi))
    result = selector.select("send an email about my taxi", TOOLS, top_k=4)
    assert result.ranked[0] == "t" and sorted(result.ranked) == ["c", "e", "t", "w"]
    assert result.llm_calls == 1 and not result.fallback

    confused = LLMRerankSelector(StubClient("I am not sure"))
    result = confused.select("send an email to Bob", TOOLS)
    assert result.fallback and result.fallback_reason
    assert result.ranked[0] == "e"  # hybrid order kept


def test_hybrid_fuses_bm25_and_embedding_ranks() -> None:
    scores = HybridSelector(StubClient(), rrf_k=60).scores("send an email to Bob", TOOLS)
    assert scores[1] == pytest.approx(2 / 61)  # ranked first by both: 1/(60+1) twice
    assert all(s < scores[1] for i, s in enumerate(scores) if i != 1)


def test_split_clauses_and_json_repair() -> None:
    assert split_clauses("Get the weather, then send an email and finally book a taxi.") == [
        "Get the weather",
        "send an email",
        "book a taxi",
    ]
    data, repaired = extract_json("```json\n{'steps': ['a', 'b',]}\n```")
    assert data == {"steps": ["a", "b"]} and repaired
    assert extract_json("no json here") == (None, True)
    assert plan_entries([{"tool": "a"}, "b", {"name": "c"}]) == ["a", "b", "c"]
    assert match_tool("Send_Emial", TOOLS) is TOOLS[1]  # close spelling


def test_retrieval_planner_orders_steps() -> None:
    planner = create_strategy("planning", "retrieval")
    plan = planner.plan(
        "Get the weather in Paris, then send an email to Ana, then book a taxi", TOOLS
    )
    assert plan.steps == ["w", "e", "t"]


def test_llm_json_planner_validates_and_falls_back() -> None:
    good = StubClient('Sure: {"steps": ["book_taxi", "unknown_tool", "send_email"]}')
    plan = create_strategy("planning", "llm_json", client=good).plan("taxi then email", TOOLS)
    assert plan.steps == ["t", "e"] and plan.repaired and not plan.fallback

    bad = StubClient("I cannot help with that")
    plan = create_strategy("planning", "llm_json", client=bad).plan(
        "Get the weather, then book a taxi", TOOLS
    )
    assert plan.fallback and plan.steps == ["w", "t"]


def test_react_planner_loops_until_finish_with_step_limit() -> None:
    script = iter(["Action: get_weather", "Thought: next\nAction: book_taxi", "Action: FINISH"])
    client = StubClient(lambda _m: next(script))
    plan = create_strategy("planning", "react", client=client).plan("weather then taxi", TOOLS)
    assert plan.steps == ["w", "t"] and plan.llm_calls == 3 and not plan.fallback
    assert "Observation: done" in client.prompts[-1][-1]["content"]

    looping = create_strategy(
        "planning", "react", client=StubClient("Action: send_email"), max_steps=8
    )
    plan = looping.plan("email", TOOLS)
    assert not plan.fallback and plan.steps == ["e"] * 4  # 4 in a row is a loop: stop

    # BFCL plans call one tool three times: a third repeat is a step, not a loop.
    thrice = iter(["Action: send_email"] * 3 + ["Action: FINISH"])
    plan = create_strategy("planning", "react", client=StubClient(lambda _m: next(thrice))).plan(
        "email Ana, Bob and Eve", TOOLS
    )
    assert plan.steps == ["e", "e", "e"]

    lost = create_strategy("planning", "react", client=StubClient("???"))
    plan = lost.plan("Get the weather, then book a taxi", TOOLS)
    assert plan.fallback and plan.steps == ["w", "t"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Send an email to Maria about the invoice", True),
        ("Can you book a taxi to the airport at 9am?", True),
        ("Hi! How is your day going?", False),
        ("Tell me a joke about taxis.", False),
    ],
)
def test_rules_timing(message: str, expected: bool) -> None:
    assert create_strategy("timing", "rules").decide(message, TOOLS).call is expected


def test_embedding_llm_and_hybrid_timing() -> None:
    emb = create_strategy("timing", "embedding", client=StubClient())
    assert emb.decide("Send an email to my manager saying I will be late.").call is True
    assert emb.decide("Tell me a joke about cats.").call is False

    llm = create_strategy("timing", "llm", client=StubClient("No."))
    assert llm.decide("book a taxi", TOOLS).call is False
    odd = create_strategy("timing", "llm", client=StubClient("hmm"))
    result = odd.decide("Send an email to Bob", TOOLS)
    assert result.fallback and result.call is True  # rules decided

    stub = StubClient("yes")
    hybrid = create_strategy("timing", "hybrid", client=stub)
    assert hybrid.decide("Hi! How is your day going?").call is False
    assert stub.prompts == []  # the rules were confident: no LLM call


def test_registry_lists_every_strategy_and_rejects_unknown() -> None:
    assert set(available_strategies("selection")) >= {"bm25", "embedding", "hybrid", "llm_rerank"}
    assert set(available_strategies("planning")) >= {"retrieval", "llm_json", "react"}
    assert set(available_strategies("timing")) >= {"rules", "embedding", "llm", "hybrid"}
    with pytest.raises(ConfigError, match="available"):
        create_strategy("selection", "nope")
    with pytest.raises(ConfigError, match="needs a chat client"):
        create_strategy("planning", "react")
    assert set(baseline_strategies("timing")) == {"always_call", "never_call"}
    assert baseline_strategies("selection") == ["first_candidate", "random"]
    assert baseline_strategies("planning") == ["all_candidates"]


def test_catalog_round_trip_and_bad_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tools.jsonl"
    save_catalog(TOOLS, path)
    assert [t.id for t in load_catalog(path)] == ["w", "e", "c", "t"]
    path.write_text(path.read_text() + "{broken\n")
    with pytest.raises(ValueError, match=r"tools.jsonl:5"):
        load_catalog(path)
