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


def test_calling_through_the_gateway_is_schema_valid(gateway: str) -> None:
    """``-t calling`` against the default stack: constrained decoding makes every call
    the model makes name an offered tool with JSON-object arguments."""
    from sage.benchmark.agent.bfcl import BFCL_SELECTION, default_bfcl_dir
    from sage.benchmark.agent.calling import ToolCaller

    if not (default_bfcl_dir() / f"{BFCL_SELECTION}.json").exists():
        pytest.skip(f"BFCL data not found at {default_bfcl_dir()} (see its README.md)")
    config = AgentBenchConfig(datasets=["bfcl"], tasks=["calling"], tune_on=[], limit=1, seed=1)
    run = run_agent_benchmark(config, caller=ToolCaller(gateway, max_tokens=160))
    rows = {r["group"]: r for r in run.summary}
    assert set(rows) == {
        "BFCL_v4_simple_python", "BFCL_v4_multiple", "BFCL_v4_parallel_multiple",
        "BFCL_v4_irrelevance"}
    for result in run.results:
        assert result.error is None, result.error
        if result.scores["called"]:
            assert result.scores["schema_valid"] == 1.0, result.prediction
