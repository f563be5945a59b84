"""A short real benchmark on the session's real engines and gateway: the report files
exist and their numbers are consistent (timing itself is never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage.benchmark.serving.metrics import summarize
from sage.benchmark.serving.report import entries_from_folder
from sage.benchmark.serving.suite import slo_table
from sage.benchmark.serving.workload import (
    KIND_EMBEDDING,
    KIND_LLM,
    SLO,
    TenantSpec,
    WorkloadSpec,
    fixed,
    generate,
)
from sage.cli.main import app
from tests.fixtures.engines import RealEngines

pytestmark = [pytest.mark.engines, pytest.mark.slow]


def tiny_spec() -> WorkloadSpec:
    return WorkloadSpec(
        name="tiny",
        tenants=[
            TenantSpec(
                name="interactive", weight=1, llm_fraction=0.7, priority=1,
                prompt_tokens=fixed(12), output_tokens=fixed(6), embedding_tokens=fixed(8),
                llm_slo=SLO(ttft_ms=5000, e2e_ms=8000), embedding_slo=SLO(e2e_ms=2000),
            ),
            TenantSpec(
                name="batch", weight=1, llm_fraction=0.2, burstiness=0.5,
                prompt_tokens=fixed(16), output_tokens=fixed(4), embedding_tokens=fixed(12),
                embedding_inputs=fixed(3), llm_slo=SLO(e2e_ms=10000),
            ),
        ],
    )  # fmt: skip


def seed_with_both_kinds(spec: WorkloadSpec, rate: float, duration: float) -> int:
    """A seed whose workload has chats from the victim and embeddings (fixed in advance,
    so the test is deterministic and never runs on an empty mix)."""
    for seed in range(100):
        w = generate(spec, rate, duration=duration, seed=seed)
        victim_chats = ((w.tenant == 0) & (w.kind == KIND_LLM)).sum()
        if victim_chats >= 1 and (w.kind == KIND_EMBEDDING).sum() >= 1 and len(w) <= 8:
            return seed
    raise AssertionError("no suitable seed")


def check_run_file(path: Path) -> None:
    run = json.loads(path.read_text())
    requests = run["requests"]
    sent = len(requests["outcome"])
    assert all(len(column) == sent for column in requests.values())
    assert run["config"]["consistency_problems"] == []
    overall = run["summary"]["overall"]
    assert overall["sent"] == sent
    assert overall["ok"] + overall["errors"] + overall["rejected"] == sent
    assert overall["ok"] == requests["outcome"].count("ok")
    for group in [overall, *run["summary"]["by_kind"].values()]:
        for metric in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
            s = group[metric]
            if s["n"]:
                assert s["p50"] <= s["p95"] <= s["p99"] <= s["max"]
    for kind, e2e, ttft, tokens in zip(
        requests["kind"], requests["e2e"], requests["ttft"], requests["output_tokens"],
        strict=True,
    ):  # fmt: skip
        if kind == "llm" and e2e is not None:
            assert 0 < ttft <= e2e and 1 <= tokens <= 6


def test_compare_on_real_engines(
    real_engines: RealEngines, gateway_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "compare"
    spec = tiny_spec()
    (tmp_path / "w.json").write_text(spec.model_dump_json())
    seed = seed_with_both_kinds(spec, 3.0, 1.5)
    result = CliRunner().invoke(
        app,
        ["bench", "compare", "--llm-url", real_engines.llm.url,
         "--embedding-url", real_engines.embedding.url, "--gateway-url", gateway_url,
         "-b", "siloed,hybrid", "--rates", "3", "--duration", "1.5", "--seed", str(seed),
         "--workload", str(tmp_path / "w.json"), "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("summary.json", "report.html", "latency_cdf.png", "p99_vs_rate.png",
                 "slo_vs_rate.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    runs = sorted((out / "runs").glob("*.json"))
    assert [p.name for p in runs] == [
        "r3_siloed_0.json", "r3_siloed_0_alone.json", "r3_unified-hybrid_0.json",
    ]  # fmt: skip
    for path in runs:
        check_run_file(path)
    same = [
        json.loads(p.read_text())["requests"]["scheduled"] for p in runs if "alone" not in p.name
    ]
    assert same[0] == same[1]  # both baselines got the very same workload
    summary = json.loads((out / "summary.json").read_text())
    rows = {r["baseline"]: r for r in summary["rows"]}
    assert set(rows) == {"siloed", "unified/hybrid"}
    assert rows["siloed"]["llm_p99_ms_vs_siloed"] == pytest.approx(1.0)
    assert rows["siloed"]["victim_alone_p99_ms"] is not None
    html = (out / "report.html").read_text()
    assert "unified/hybrid" in html and "latency_cdf.png" in html
    # The run files hold everything: summaries rebuild from their request columns.
    entries = entries_from_folder(out)
    assert len(entries) == 3 and sum(e.alone for e in entries) == 1
    for entry in entries:
        assert entry.outcomes is not None
        rebuilt = summarize(entry.outcomes, slo_table(spec), entry.summary["duration_s"])
        for key in ("sent", "ok", "rejected", "errors", "slo_met"):
            assert rebuilt["overall"][key] == entry.summary["overall"][key]
        p99 = entry.summary["overall"]["e2e_ms"]["p99"]
        assert rebuilt["overall"]["e2e_ms"]["p99"] == pytest.approx(p99, abs=0.01)


def test_serve_replays_a_trace_through_the_gateway(gateway_url: str, tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        '{"timestamp": 0.0, "kind": "chat", "tenant": "a", "prompt_tokens": 10, "output_tokens": 3}\n'
        '{"timestamp": 0.2, "kind": "embedding", "tenant": "b", "prompt_tokens": 8, "n_inputs": 2}\n'
        '{"timestamp": 0.3, "kind": "embedding", "tenant": "a", "prompt_tokens": 6}\n'
    )
    out = tmp_path / "serve"
    result = CliRunner().invoke(
        app, ["bench", "serve", "--base-url", gateway_url, "--trace", str(trace), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    (run,) = sorted((out / "runs").glob("*.json"))
    check_run_file(run)
    data = json.loads(run.read_text())
    assert data["requests"]["tenant"] == ["a", "b", "a"]
    assert data["summary"]["overall"]["ok"] == 3
    assert data["requests"]["n_inputs"] == [1, 2, 1]


def test_serve_with_the_openai_sdk_client(gateway_url: str, tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        '{"timestamp": 0.0, "kind": "chat", "tenant": "a", "prompt_tokens": 10, "output_tokens": 3}\n'
        '{"timestamp": 0.1, "kind": "embedding", "tenant": "b", "prompt_tokens": 8, "n_inputs": 2}\n'
    )
    out = tmp_path / "serve"
    result = CliRunner().invoke(
        app,
        ["bench", "serve", "--base-url", gateway_url, "--trace", str(trace),
         "--client", "openai", "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (run,) = sorted((out / "runs").glob("*.json"))
    check_run_file(run)
    data = json.loads(run.read_text())
    assert data["config"]["client"] == "openai"
    assert data["summary"]["overall"]["ok"] == 2
    assert data["requests"]["ttft"][0] is not None and data["requests"]["output_tokens"][0] >= 1
    bad = CliRunner().invoke(app, ["bench", "serve", "--base-url", gateway_url, "--client", "x"])
    assert bad.exit_code == 2 and "--client" in bad.output
