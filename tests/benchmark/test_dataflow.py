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


def test_ray_report_separates_actor_start_up_from_run_time() -> None:
    from sage.benchmark.dataflow_ray import RayBenchReport, Timing

    report = RayBenchReport(repeats=2, timings=[
        Timing("cpu_ray_p1", [5.0, 5.2], 100, startup_s=[1.0, 1.2]),
        Timing("cpu_ray_p2", [3.0, 3.4], 100, startup_s=[1.0, 1.4]),
        Timing("throughput_local", [1.0, 1.0], 1000, startup_s=[0.0, 0.0]),
        Timing("throughput_ray", [3.0, 3.0], 1000, startup_s=[1.0, 1.0]),
    ])
    p1, p2 = report.get("cpu_ray_p1"), report.get("cpu_ray_p2")
    assert p1 is not None and p2 is not None
    assert (p1.run_s, p2.run_s) == (4.0, 2.0)
    summary = report.summary
    assert summary["cpu_speedup_p2_over_p1"] == 2.0
    assert summary["cpu_speedup_p2_over_p1_wall"] == 5.1 / 3.2
    assert summary["ray_over_local_time"] == 3.0
    assert summary["ray_over_local_run_time"] == 2.0
    assert report.to_dict()["timings"][0]["run_s"] == 4.0
