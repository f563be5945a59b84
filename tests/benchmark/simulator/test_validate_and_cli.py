"""``--validate`` replays a run file request for request; ``sage bench simulate`` writes
its report; capacity maths used to pick load levels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sage.benchmark.serving.workload import WorkloadSpec, generate
from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
from sage.benchmark.simulator.core import simulate
from sage.benchmark.simulator.profiles import Calibration
from sage.benchmark.simulator.validate import repeat_agreement, run_llm_speed, validate_run
from sage.cli.main import app
from tests.fixtures.simulated_runs import simulated_requests


def write_run(path: Path, baseline: str, calibration: Calibration) -> None:
    """A run file in the real benchmark's format, whose 'measurements' are a simulation."""
    spec = WorkloadSpec.default()
    workload = generate(spec, 0.8, duration=300.0, seed=2)
    policy = None if baseline == "siloed" else baseline.split("/", 1)[1]
    sim = simulate(workload, calibration, ClusterSpec(1, 1, colocate=True), policy, spec=spec)
    requests = simulated_requests(workload, sim)
    config = {"baseline": baseline, "workload_spec": spec.model_dump()}
    path.write_text(json.dumps({"config": config, "summary": sim.summary, "requests": requests}))


@pytest.mark.parametrize("baseline", ["siloed", "unified/hybrid", "unified/priority"])
def test_replaying_a_run_reproduces_it(tmp_path: Path, baseline: str) -> None:
    cal = Calibration.load()
    path = tmp_path / "run.json"
    write_run(path, baseline, cal)
    validation = validate_run(path, cal, tolerance=0.2)
    assert validation.baseline == baseline
    assert validation.passed
    # hybrid estimates service times from prompt tokens, which a replay takes from the
    # engine's count (chat template included): its decisions may differ by a few requests.
    tolerance = 0.1 if baseline == "unified/hybrid" else 1e-9
    for row in validation.rows:
        assert row.error == pytest.approx(0.0, abs=tolerance)


def test_a_different_engine_model_fails_validation(tmp_path: Path) -> None:
    cal = Calibration.load()
    path = tmp_path / "run.json"
    write_run(path, "siloed", cal)
    slower = cal.scaled(0.5)
    assert not validate_run(path, slower, tolerance=0.2).passed


def test_capacity_scales_with_engines_and_speed() -> None:
    spec, cal = WorkloadSpec.default(), Calibration.load()
    one = capacity_rate(spec, cal, ClusterSpec(1, 1))
    assert capacity_rate(spec, cal, ClusterSpec(4, 4)) == pytest.approx(4 * one)
    assert capacity_rate(spec, cal.scaled(10), ClusterSpec(1, 1)) == pytest.approx(10 * one)
    split = ClusterSpec.split(64, spec, cal)
    assert split.size == 64 and split.llm_engines > split.embedding_engines


def test_simulate_command_writes_a_report(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = CliRunner().invoke(
        app,
        ["bench", "simulate", "--engines", "8", "--speedup", "20", "--llm-capacity", "4",
         "-b", "siloed,hybrid,fifo", "-u", "0.5,1.2", "-n", "3000", "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert {r["baseline"] for r in summary["rows"]} == {"siloed", "unified/hybrid", "unified/fifo"}
    assert len(summary["rows"]) == 6
    for name in ("report.html", "latency_cdf.png", "p99_vs_rate.png", "slo_vs_rate.png"):
        assert (out / name).stat().st_size > 0
    for run in summary["runs"]:
        overall = run["summary"]["overall"]
        assert overall["ok"] + overall["rejected"] + overall["errors"] == overall["sent"]


def test_simulate_validate_command(tmp_path: Path) -> None:
    folder = tmp_path / "compare"
    (folder / "runs").mkdir(parents=True)
    write_run(folder / "runs" / "r1_siloed_0.json", "siloed", Calibration.load())
    result = CliRunner().invoke(
        app, ["bench", "simulate", "--validate", str(folder), "-o", str(tmp_path / "v")]
    )
    assert result.exit_code == 0, result.output
    assert "1/1 runs within 20%" in result.output
    report = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert report["runs"][0]["passed"]


def test_repeat_agreement_measures_real_runs_against_each_other(tmp_path: Path) -> None:
    """Repeats of one run (same baseline, rate, seed) are compared figure by figure: a
    repeat on a machine twice as slow disagrees; another baseline is not a repeat."""
    cal = Calibration.load()
    paths = {name: tmp_path / f"{name}.json" for name in ("a", "same", "slow", "hybrid")}
    write_run(paths["a"], "siloed", cal)
    write_run(paths["same"], "siloed", cal)
    write_run(paths["slow"], "siloed", cal.scaled(0.5))
    write_run(paths["hybrid"], "unified/hybrid", cal)
    runs = {name: validate_run(path, cal) for name, path in paths.items()}
    assert repeat_agreement([runs["a"], runs["same"]]) == (4, 4)
    within, compared = repeat_agreement([runs["a"], runs["slow"]])
    assert compared == 4 and within < 4
    assert repeat_agreement([runs["a"], runs["hybrid"]]) == (0, 0)
    result = CliRunner().invoke(
        app, ["bench", "simulate", "--validate", str(paths["a"]), "--validate", str(paths["same"])]
    )
    assert result.exit_code == 0, result.output
    assert "agree with each other within 20% on 4/4 figures" in " ".join(result.output.split())


def test_simulate_rejects_unknown_baseline() -> None:
    result = CliRunner().invoke(app, ["bench", "simulate", "-b", "siloed,nope", "-n", "10"])
    assert result.exit_code != 0
    assert "unknown baseline" in result.output


def test_replay_gives_engines_the_capacities_of_the_run() -> None:
    from sage.benchmark.simulator.validate import replay_cluster

    engines = [
        {"id": "llm-0", "kinds": ["llm"], "capacity": 1, "max_batch": 64},
        {"id": "embedding-0", "kinds": ["embedding"], "capacity": 3, "max_batch": 64},
    ]
    assert replay_cluster({"engines": engines}).embedding_capacity == 3
    assert replay_cluster({}) == ClusterSpec(1, 1, colocate=True)


def test_own_speed_takes_machine_drift_out_of_the_replay(tmp_path: Path) -> None:
    """A run on a machine 30% slower than calibrated fails the replay; with the run's own
    decode speed (read from its token gaps) it reproduces exactly."""
    cal = Calibration.load()
    slower = cal.model_copy(update={"llm": cal.llm.faster(0.7)})
    path = tmp_path / "run.json"
    write_run(path, "siloed", slower)
    run = json.loads(path.read_text())
    gap = 1.0 / slower.llm.decode_tokens_per_s
    req = run["requests"]
    req["itl"] = [[gap] * 5 if kind == "llm" else [] for kind in req["kind"]]
    path.write_text(json.dumps(run))
    assert run_llm_speed(run, cal) == (pytest.approx(0.7), None)  # no TTFTs recorded
    assert not validate_run(path, cal).passed
    drift_free = validate_run(path, cal, own_speed=True)
    assert all(r.error == pytest.approx(0.0, abs=1e-6) for r in drift_free.rows if r.gated)


def test_bootstrap_interval_brackets_the_percentile_and_narrows_with_samples() -> None:
    from sage.benchmark.simulator.validate import bootstrap_interval

    rng = np.random.default_rng(3)
    widths = []
    for n in (200, 5000):
        values = rng.exponential(1.0, n).tolist()
        interval = bootstrap_interval(values, 99)
        assert interval is not None
        low, high = interval
        assert low <= float(np.percentile(values, 99)) <= high
        widths.append((high - low) / float(np.percentile(values, 99)))
    assert widths[1] < widths[0]
    assert bootstrap_interval([1.0], 99) is None
