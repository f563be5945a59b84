"""Short runs of every strategy through the benchmark (stub client) and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage.benchmark.agent.suite import AgentBenchConfig, run_agent_benchmark
from sage.cli.main import app
from sage.libs.agents import TASKS, available_strategies
from tests.libs.agents.stubs import StubClient


def test_every_strategy_runs_on_the_synthetic_set() -> None:
    config = AgentBenchConfig(
        datasets=["synthetic"], limit=3, seed=1, strategy_options={"learned": {"max_train": 40}}
    )
    run = run_agent_benchmark(config, client=StubClient('{"steps": []}'))
    seen = {(r["task"], r["strategy"]) for r in run.summary}
    assert seen == {(t, s) for t in TASKS for s in available_strategies(t)}
    assert not run.errors and not run.skipped
    # Tunable strategies were fitted on the synthetic train/dev split, and say so.
    assert {(f["task"], f["strategy"], f["tuned_on"]) for f in run.fitted} >= {
        ("timing", "learned", "synthetic"), ("selection", "learned", "synthetic"),
        ("timing", "embedding", "synthetic")}
    tuned = {r["strategy"]: r["tuned_on"] for r in run.summary if r["task"] == "timing"}
    assert tuned["learned"] == "synthetic" and tuned["rules"] == "-"
    sel = {(r["strategy"], r["pool_size"]) for r in run.summary if r["task"] == "selection"}
    assert ("bm25", 500) in sel and ("bm25", 10) in sel
    for row in run.summary:
        assert 0.0 <= row["fallback_rate"] <= 1.0 and row["error_rate"] == 0.0
    # llm_json got an empty plan from the stub: every item fell back, tokens estimated.
    llm_json = next(r for r in run.summary if r["strategy"] == "llm_json")
    assert llm_json["fallback_rate"] == 1.0 and llm_json["tokens_estimated"]


def test_seeded_runs_are_reproducible() -> None:
    config = AgentBenchConfig(
        datasets=["synthetic"], tasks=["selection"], strategies=["bm25"], limit=4, seed=7
    )
    a = run_agent_benchmark(config)
    b = run_agent_benchmark(config)
    assert [(r.item_id, r.prediction) for r in a.results] == [
        (r.item_id, r.prediction) for r in b.results
    ]


def test_no_client_skips_model_strategies_with_a_reason() -> None:
    config = AgentBenchConfig(datasets=["synthetic"], tasks=["timing"], limit=2)
    run = run_agent_benchmark(config)
    assert {r["strategy"] for r in run.summary} == {"rules", "always_call", "never_call"}
    assert any("timing/llm" in s for s in run.skipped)


def test_cli_writes_report_and_lists_malformed_items(tmp_path: Path) -> None:
    from sage.benchmark.agent.generator import DATA_DIR

    data = tmp_path / "data"
    data.mkdir()
    (data / "catalog.jsonl").write_bytes((DATA_DIR / "catalog.jsonl").read_bytes())
    rows = (DATA_DIR / "items.jsonl").read_text().splitlines()
    lines: list[str] = []
    for task in ("sel-", "plan-", "time-"):  # a slice of each task
        lines += [r for r in rows if f'"id": "{task}' in r][:60]
    lines.insert(3, '{"id": "broken"')
    lines.insert(
        6,
        '{"id": "x", "task": "planning", "instruction": "do it", "gold_tools": ["t9999"]}',
    )
    (data / "items.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "agent",
            "--dataset",
            "synthetic",
            "--data-dir",
            str(data),
            "--split",
            "train",
            "--strategies",
            "bm25,retrieval,rules",
            "--limit",
            "5",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "items.jsonl:4" in result.output
    assert "items.jsonl:7: unknown tool id(s) ['t9999']" in result.output
    report = json.loads((out / "results.json").read_text())
    assert report["item_errors"]
    assert {r["task"] for r in report["summary"]} == {"selection", "planning", "timing"}
    assert (out / "report.html").exists() and (out / "selection_pool_scaling.png").exists()
    assert (out / "latency_vs_accuracy.png").exists()


def test_missing_bfcl_data_is_a_clear_skip(tmp_path: Path) -> None:
    config = AgentBenchConfig(
        datasets=["synthetic", "bfcl"], tasks=["timing"], strategies=["rules"], limit=2,
        bfcl_dir=tmp_path / "nowhere",
    )
    run = run_agent_benchmark(config)
    assert {r["dataset"] for r in run.summary} == {"synthetic"}
    assert any(s.startswith("bfcl: no BFCL files") and "--bfcl-dir" in s for s in run.skipped)
    assert not run.errors


def test_shared_bfcl_files_run_through_every_task() -> None:
    from sage.benchmark.agent.datasets import BFCL_SELECTION, default_bfcl_dir

    folder = default_bfcl_dir()
    if not (folder / f"{BFCL_SELECTION}.json").exists():
        pytest.skip(f"BFCL data not found at {folder} (see ../shared/data/bfcl/README.md)")
    config = AgentBenchConfig(
        datasets=["bfcl"], strategies=["bm25", "retrieval", "rules"], limit=3, seed=2
    )
    run = run_agent_benchmark(config)
    assert not run.errors and not run.skipped
    groups = {(r["task"], r["group"]) for r in run.summary}
    assert groups == {
        ("selection", "BFCL_v4_multiple"),
        *{("selection", f"BFCL_v4_simple_python@{n}") for n in (10, 100, 500)},
        ("planning", "BFCL_v4_parallel_multiple"),
        ("timing", "BFCL_v4_all_files"),
    }
    assert all(r["error_rate"] == 0.0 for r in run.summary)


def test_limited_timing_samples_hold_both_labels() -> None:
    from sage.benchmark.agent.datasets import synthetic
    from sage.benchmark.agent.runner import pick_items

    for seed in range(5):
        picked = pick_items(synthetic().items, "timing", "test", 4, seed)
        assert sorted(i.should_call for i in picked) == [False, False, True, True]
    sel = pick_items(synthetic().items, "selection", "test", 3, 0)
    assert len(sel) == 9 and {i.pool_size for i in sel} == {10, 100, 500}


def test_tuning_never_sees_the_scored_items() -> None:
    config = AgentBenchConfig(
        datasets=["synthetic"], tasks=["timing"], strategies=["embedding", "learned"],
        limit=4, split="dev", tune_on=["synthetic"],
        strategy_options={"learned": {"max_train": 40}},
    )
    run = run_agent_benchmark(config, client=StubClient())
    assert {r["strategy"] for r in run.summary} == {"always_call", "never_call"}
    assert sum("holds the items it is fitted on" in s for s in run.skipped) == 2
    untuned = AgentBenchConfig(
        datasets=["synthetic"], tasks=["timing"], strategies=["embedding", "learned"],
        limit=4, tune_on=[],
    )
    run = run_agent_benchmark(untuned, client=StubClient())
    assert {(r["strategy"], r["tuned_on"]) for r in run.summary if not r["baseline"]} == {
        ("embedding", "-")}
    assert any("learned, give --tune-on" in s for s in run.skipped)
