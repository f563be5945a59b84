"""The learned strategies: what they are fitted on and what they decide."""

from __future__ import annotations

import pytest

from sage.libs.agents.features import VectorCache
from sage.libs.agents.learned_timing import LearnedTiming
from sage.libs.agents.timing_features import TIMING_FEATURES, TimingFeatures
from sage.libs.agents.tools import Tool
from sage.libs.agents.types import TimingExample
from tests.libs.agents.stubs import StubClient

WEATHER = Tool("w", "get_weather", "Current weather of a city.",
               {"properties": {"city": {"type": "string"}}}, "weather")
LOAN = Tool("l", "loan_payment", "Monthly payment of a loan.",
            {"properties": {"amount": {"type": "number"}, "rate": {"type": "number"}}}, "finance")
FLIGHT = Tool("f", "find_flights", "Find flights between two airports.",
              {"properties": {"origin": {"type": "string"}}}, "travel")
MUSIC = Tool("m", "play_music", "Play a song or an artist.",
             {"properties": {"artist": {"type": "string"}}}, "music")


def _examples() -> list[TimingExample]:
    calls = [
        ("Get the weather in Rome today", WEATHER),
        ("Get the current weather for Paris", WEATHER),
        ("Calculate the monthly loan payment for 300000 at 4 rate", LOAN),
        ("Compute the loan payment for an amount of 5000", LOAN),
        ("Find flights from Berlin to Oslo", FLIGHT),
        ("Find cheap flights to Madrid next week", FLIGHT),
        ("Play music by the artist Adele", MUSIC),
        ("Play a song by Queen", MUSIC),
    ]
    chat = [
        ("Hi, how are you doing today?", WEATHER),
        ("Thanks, that was helpful!", LOAN),
        ("Tell me a joke about flights", FLIGHT),
        ("Write a short poem about music", MUSIC),
        ("What do you think about the weather in general?", WEATHER),
        ("That's funny, haha.", LOAN),
    ]
    return [TimingExample(m, (t,), True) for m, t in calls] + [
        TimingExample(m, (t,), False) for m, t in chat
    ]


def test_features_have_the_declared_columns() -> None:
    row = TimingFeatures(VectorCache(StubClient())).row("Play a song by Queen", (MUSIC,))
    assert row.shape == (len(TIMING_FEATURES),)
    assert row[TIMING_FEATURES.index("no_tools")] == 0.0
    empty = TimingFeatures(VectorCache(StubClient())).row("Play a song", ())
    assert empty[TIMING_FEATURES.index("no_tools")] == 1.0


def test_augmented_negatives_never_offer_the_message_its_own_tools() -> None:
    strategy = LearnedTiming(StubClient(), mismatches=2, near_misses=1)
    data = _examples()
    extra = strategy._augmented(data)[len(data):]
    assert extra and not any(e.should_call for e in extra)
    own = {e.message: {t.id for t in e.tools} for e in data if e.should_call}
    assert all(not own[e.message] & {t.id for t in e.tools} for e in extra)


@pytest.mark.parametrize("model", ["factored", "logistic"])
def test_a_request_no_offered_tool_fits_is_not_a_call(model: str) -> None:
    strategy = LearnedTiming(StubClient(), model=model)
    data = _examples()
    fitted = strategy.fit(data, data)
    assert fitted["train_items"] > len(data)  # the augmented negatives
    assert strategy.decide("Get the weather in Rome today", (WEATHER,)).call
    if model == "factored":  # the one built to need both a request and a fitting tool
        assert not strategy.decide("Get the weather in Rome today", (LOAN,)).call
        assert not strategy.decide("Hi, how are you doing today?", (WEATHER,)).call


def test_unfitted_or_unknown_model_is_an_error() -> None:
    with pytest.raises(ValueError):
        LearnedTiming(StubClient(), model="forest")
    with pytest.raises(RuntimeError):
        LearnedTiming(StubClient()).decide("hi", ())


def test_fusion_uses_parameter_descriptions_to_split_near_duplicates() -> None:
    from sage.libs.agents import create_strategy

    miles = Tool("a", "distance", "Distance between two places.",
                 {"properties": {"unit": {"type": "string", "description": "miles or km"}}})
    plain = Tool("b", "distance", "Distance between two places.",
                 {"properties": {"unit": {"type": "string", "description": "the unit"}}})
    other = Tool("c", "play_music", "Play a song.", {"properties": {}})
    fusion = create_strategy("selection", "fusion", embed_client=StubClient())
    ranked = fusion.select("Distance from Boston to Austin in miles", [plain, other, miles]).ranked
    assert ranked[0] == "a" and ranked[-1] == "c"
    assert fusion.select("anything", []).ranked == []


def test_learned_plain_fits_the_tune_set_as_it_is() -> None:
    from sage.libs.agents import create_strategy

    plain = create_strategy("timing", "learned_plain", embed_client=StubClient())
    data = _examples()
    assert plain.fit(data, data)["train_items"] == len(data)  # no added negatives
    assert plain.decide("Get the weather in Rome today", (WEATHER,)).source == "learned_plain"


def test_learned_reranker_first_stages() -> None:
    from sage.libs.agents.learned_rerank import LearnedReranker
    from sage.libs.agents.types import SelectionExample

    tools = (WEATHER, LOAN, FLIGHT, MUSIC)
    train = [SelectionExample(m, tools, (t.id,)) for m, t in [
        ("weather in Rome", WEATHER), ("loan payment amount", LOAN),
        ("find flights to Oslo", FLIGHT), ("play music by Adele", MUSIC)]]
    for stage in ("hybrid", "fusion"):
        r = LearnedReranker(StubClient(), first_stage=stage)
        r.fit(train, [])
        assert sorted(r.select("flights to Oslo", tools).ranked) == sorted(t.id for t in tools)
    with pytest.raises(ValueError):
        LearnedReranker(StubClient(), first_stage="bm25")
