"""LLM strategies on a handful of items through the real gateway (SmolLM2 + MiniLM)."""

from __future__ import annotations

import pytest

from sage.benchmark.agent.suite import AgentBenchConfig, run_agent_benchmark

pytestmark = [pytest.mark.engines, pytest.mark.slow]


@pytest.fixture
def gateway(request: pytest.FixtureRequest) -> str:
    try:
        return str(request.getfixturevalue("gateway_url"))
    except pytest.FixtureLookupError as exc:  # engines fixture not provided in this tree
        pytest.skip(f"real gateway fixture unavailable: {str(exc).splitlines()[0]}")


def test_model_strategies_through_the_gateway(gateway: str) -> None:
    from sage.llm.client import LLMClient

    config = AgentBenchConfig(
        datasets=["synthetic"],
        strategies=["llm_rerank", "llm_json", "react", "llm"],
        limit=1,
        seed=3,
        strategy_options={"react": {"max_steps": 2}, "llm_json": {"max_tokens": 48}},
    )
    with LLMClient(gateway) as client:
        run = run_agent_benchmark(config, client=client)
    seen = {(r["task"], r["strategy"]) for r in run.summary}
    assert {("selection", "llm_rerank"), ("planning", "react"), ("timing", "llm")} <= seen
    for row in run.summary:
        assert row["error_rate"] == 0.0, row
        if row["strategy"] in ("llm_rerank", "llm_json", "react", "llm"):
            assert row["llm_calls_mean"] >= 1 and row["tokens_mean"] > 0
