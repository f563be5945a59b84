"""``sage bench dataflow`` runs end to end on a small N and writes its JSON report."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sage.benchmark.dataflow import plain_loop, run_dataflow_benchmark
from sage.cli.main import app


def test_benchmark_function_reports_every_scenario() -> None:
    report = run_dataflow_benchmark(records=2000, repeats=1, parallelisms=(1, 2))
    names = [s.name for s in report.scenarios]
    assert names == ["plain_loop", "p1", "p2", "p2_shuffle"]
    assert all(s.records_per_s > 0 for s in report.scenarios)
    assert set(report.summary) == {"ratio_p1_to_plain", "speed_p2_over_p1"}
    assert plain_loop(10) == 5


def test_cli_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "df.json"
    result = CliRunner().invoke(app, ["bench", "dataflow", "-n", "1000", "-r", "1",
                                      "-p", "1", "--output", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["records"] == 1000 and data["scenarios"][0]["name"] == "plain_loop"


def test_cli_rejects_unknown_runtime() -> None:
    result = CliRunner().invoke(app, ["bench", "dataflow", "--runtime", "spark"])
    assert result.exit_code == 2
