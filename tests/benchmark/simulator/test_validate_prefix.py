"""``--validate`` replays a shared-prefix run: its replicas, its policy options, its hit rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sage.benchmark.serving.workload import WorkloadSpec, generate
from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
from sage.benchmark.simulator.core import simulate
from sage.benchmark.simulator.profiles import Calibration
from sage.benchmark.simulator.validate import HIT_RATE, replay_cluster, validate_run
from tests.fixtures.simulated_runs import simulated_requests

ENGINES = [
    {"id": "llm-0", "kinds": ["llm"], "capacity": 1, "max_batch": 64},
    {"id": "llm-1", "kinds": ["llm"], "capacity": 1, "max_batch": 64},
]


def write_prefix_run(path: Path, baseline: str, options: dict[str, str]) -> None:
    """A shared-prefix run file on 2 LLM replicas whose 'measurements' are a simulation."""
    spec, cal = WorkloadSpec.load("shared-prefix"), Calibration.load()
    cluster = ClusterSpec(2, 0, colocate=True)
    workload = generate(spec, 0.7 * capacity_rate(spec, cal, cluster), n=300, seed=1)
    sim = simulate(workload, cal, cluster, "prefix_aware", spec=spec, policy_options=options)
    assert workload.prefix is not None and workload.prefix_tokens is not None
    requests = simulated_requests(workload, sim)
    config = {"baseline": baseline, "workload_spec": spec.model_dump(), "engines": ENGINES}
    path.write_text(json.dumps({"config": config, "summary": sim.summary, "requests": requests}))


def test_replay_runs_the_recorded_replicas() -> None:
    assert replay_cluster({"engines": ENGINES}) == ClusterSpec(2, 0, colocate=True)


@pytest.mark.parametrize(
    ("baseline", "options"),
    [("unified/prefix_aware", {}), ("unified/prefix_aware_precise", {"source": "precise"})],
)
def test_a_shared_prefix_run_replays_with_its_hit_rate(
    tmp_path: Path, baseline: str, options: dict[str, str]
) -> None:
    path = tmp_path / "run.json"
    write_prefix_run(path, baseline, options)
    validation = validate_run(path, Calibration.load(), tolerance=0.2)
    (hits,) = [row for row in validation.rows if row.metric == HIT_RATE]
    assert hits.real_ms is not None and hits.real_ms > 0.5 and not hits.gated
    assert hits.error == pytest.approx(0.0, abs=1e-9)
    assert validation.passed
