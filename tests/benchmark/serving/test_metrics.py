"""Metric definitions on hand-made timelines (vLLM's benchmark_serving definitions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sage.benchmark.serving.client import RequestRecord
from sage.benchmark.serving.metrics import (
    ERROR,
    OK,
    REJECTED,
    Outcomes,
    check_consistency,
    interference,
    stats_ms,
    summarize,
)
from sage.benchmark.serving.runner import RunResult
from sage.benchmark.serving.workload import KIND_EMBEDDING, KIND_LLM, SLO

NAN = float("nan")


def record(i: int, kind: int, tenant: str, outcome: int, **times: object) -> RequestRecord:
    r = RequestRecord(i, kind, tenant, scheduled=float(i), outcome=outcome)
    for key, value in times.items():
        setattr(r, key, value)
    return r


@pytest.fixture
def timeline() -> RunResult:
    """Three chats and two embeddings done, one chat rejected, one embedding failed."""
    records = [
        # ttft 0.1 s, then 4 more tokens 0.05 s apart: e2e 0.3, tpot 0.05
        record(0, KIND_LLM, "a", OK, ttft=0.1, e2e=0.3, itl=[0.05] * 4, output_tokens=5,
               input_tokens=10),
        # ttft 0.5 s, 3 gaps of 0.1, 0.2, 0.3: e2e 1.1, tpot 0.2
        record(1, KIND_LLM, "a", OK, ttft=0.5, e2e=1.1, itl=[0.1, 0.2, 0.3], output_tokens=4,
               input_tokens=20),
        # one token only: no TPOT, no ITL
        record(2, KIND_LLM, "b", OK, ttft=0.2, e2e=0.2, output_tokens=1, input_tokens=30),
        record(3, KIND_LLM, "b", REJECTED, status=429),
        record(4, KIND_EMBEDDING, "a", OK, e2e=0.02, input_tokens=8),
        record(5, KIND_EMBEDDING, "b", OK, e2e=0.4, input_tokens=8),
        record(6, KIND_EMBEDDING, "b", ERROR, status=500),
    ]  # fmt: skip
    return RunResult("test", records, duration_s=2.0, tenants=["a", "b"])


SLOS = {
    ("a", KIND_LLM): SLO(ttft_ms=300, tpot_ms=100),
    ("b", KIND_LLM): SLO(e2e_ms=1000),
    ("a", KIND_EMBEDDING): SLO(e2e_ms=100),
    ("b", KIND_EMBEDDING): SLO(e2e_ms=100),
}


def test_latency_definitions(timeline: RunResult) -> None:
    summary = summarize(timeline.outcomes(), SLOS, timeline.duration_s)
    llm = summary["by_kind"]["llm"]
    assert llm["ttft_ms"]["n"] == 3
    assert llm["ttft_ms"]["p50"] == pytest.approx(200.0)
    assert llm["ttft_ms"]["mean"] == pytest.approx(800 / 3)
    # TPOT = (e2e - ttft) / (tokens - 1), only for requests with more than one token.
    assert llm["tpot_ms"]["n"] == 2
    assert llm["tpot_ms"]["mean"] == pytest.approx((50 + 200) / 2)
    # ITL pools every gap of every request.
    gaps = np.array([0.05] * 4 + [0.1, 0.2, 0.3]) * 1000
    assert llm["itl_ms"]["n"] == 7
    assert llm["itl_ms"]["p99"] == pytest.approx(np.percentile(gaps, 99))
    assert llm["itl_ms"]["max"] == pytest.approx(300.0)
    e2e = np.array([0.3, 1.1, 0.2]) * 1000
    for p in (50, 95, 99):
        assert llm["e2e_ms"][f"p{p}"] == pytest.approx(np.percentile(e2e, p))
    emb = summary["by_kind"]["embedding"]
    assert emb["ttft_ms"]["n"] == 0 and emb["ttft_ms"]["p50"] is None
    assert emb["e2e_ms"]["p50"] == pytest.approx(210.0)


def test_counts_throughput_goodput_and_attainment(timeline: RunResult) -> None:
    summary = summarize(timeline.outcomes(), SLOS, timeline.duration_s)
    overall = summary["overall"]
    assert (overall["sent"], overall["ok"], overall["rejected"], overall["errors"]) == (7, 5, 1, 1)
    assert overall["request_throughput"] == pytest.approx(5 / 2.0)
    assert overall["output_token_throughput"] == pytest.approx((5 + 4 + 1) / 2.0)
    assert overall["total_token_throughput"] == pytest.approx((10 + 76) / 2.0)
    # Met: #0 (ttft 100 <= 300, tpot 50 <= 100), #2 (e2e 200 <= 1000), #4 (20 <= 100).
    # Missed: #1 (ttft 500), #5 (400 ms), and the rejected and failed requests.
    assert overall["slo_met"] == 3
    assert overall["slo_attainment"] == pytest.approx(3 / 7)
    assert overall["goodput"] == pytest.approx(3 / 2.0)
    tenant_b = summary["by_tenant"]["b"]
    assert tenant_b["sent"] == 4 and tenant_b["slo_met"] == 1
    assert tenant_b["by_kind"]["llm"]["rejected"] == 1
    assert check_consistency(summary) == []


def test_weighted_itl_matches_expanded_gaps() -> None:
    values = np.array([0.01, 0.02, 0.05])
    weights = np.array([10.0, 5.0, 1.0])
    expanded = np.repeat(values, weights.astype(int))
    weighted = stats_ms(values, weights)
    assert weighted["n"] == 16
    assert weighted["mean"] == pytest.approx(expanded.mean() * 1000)
    assert weighted["p50"] == pytest.approx(10.0)
    assert weighted["max"] == pytest.approx(50.0)


def test_interference_ratio() -> None:
    assert interference(300.0, 100.0) == pytest.approx(3.0)
    assert interference(None, 100.0) is None
    assert interference(100.0, None) is None
    assert interference(100.0, 0.0) is None


def test_consistency_check_flags_broken_summaries() -> None:
    outcomes = Outcomes(
        kind=np.array([KIND_LLM], dtype=np.int8),
        tenant=np.array([0], dtype=np.int16),
        tenants=["a"],
        outcome=np.array([OK], dtype=np.int8),
        ttft=np.array([0.1]),
        e2e=np.array([0.2]),
        output_tokens=np.array([2]),
        input_tokens=np.array([3]),
        itl=np.array([0.1]),
        itl_owner=np.array([0]),
    )
    summary = summarize(outcomes, {}, 1.0)
    assert check_consistency(summary) == []
    summary["overall"]["errors"] = 1
    summary["by_kind"]["llm"]["e2e_ms"]["p95"] = math.inf
    problems = check_consistency(summary)
    assert any("ok + rejected + errors" in p for p in problems)
    assert any("percentiles out of order" in p for p in problems)
