"""``hybrid``'s shortcuts over an indexed pool (cached speeds and rates, the running
work kept as a sum, no engine walk when none can have room) decide exactly as its
plain scans: the same run, request for request, with and without co-location."""

from __future__ import annotations

import numpy as np
import pytest

from sage.benchmark.serving.workload import WorkloadSpec, generate
from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
from sage.benchmark.simulator.core import Simulation
from sage.benchmark.simulator.profiles import Calibration


@pytest.mark.parametrize("colocate", [False, True])
@pytest.mark.parametrize("load", [0.8, 1.3])
def test_hybrid_index_changes_no_decision(colocate: bool, load: float) -> None:
    spec = WorkloadSpec.default()
    cal = Calibration.load().scaled(20, llm_capacity=4, batch_slowdown=0.1)
    cluster = ClusterSpec.split(12, spec, cal, colocate=colocate, embedding_capacity=4)
    workload = generate(spec, load * capacity_rate(spec, cal, cluster), n=4000, seed=3)
    indexed = Simulation(workload, cal, cluster, "hybrid", spec=spec)
    scanned = Simulation(workload, cal, cluster, "hybrid", spec=spec)
    scanned.states.indexed = False  # the policy falls back to scanning the list
    a, b = indexed.run(), scanned.run()
    assert np.array_equal(a.outcomes.outcome, b.outcomes.outcome)
    assert np.array_equal(a.outcomes.e2e, b.outcomes.e2e, equal_nan=True)
    assert a.summary["expired"] == b.summary["expired"]
