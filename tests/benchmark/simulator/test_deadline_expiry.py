"""The simulator answers a queued request whose deadline is lost as the control plane
does (a refusal, counted as ``expired``), and never one without a deadline."""

from __future__ import annotations

import numpy as np

from sage.benchmark.serving.metrics import OK, REJECTED
from sage.benchmark.serving.workload import SLO
from sage.benchmark.simulator.core import Simulation
from tests.benchmark.simulator.helpers import ideal_calibration, make_workload
from tests.benchmark.simulator.test_policies import LLM_ONLY, tenants_with


def run(send_deadline: bool, policy: str = "fifo") -> Simulation:
    # Five 1 s chats at once on one slot, deadline 2.5 s: the third starts at 2 s (fifo
    # does not know speeds: it misses), the last two are still queued at 2.5 s.
    workload = make_workload([0.0, 0.001, 0.002, 0.003, 0.004], out=[1001] * 5)
    spec = tenants_with(llm_slo=[SLO(e2e_ms=2500)], send_deadline=[send_deadline])
    sim = Simulation(workload, ideal_calibration(), LLM_ONLY, policy, spec=spec)
    sim.result = sim.run()  # type: ignore[attr-defined]
    return sim


def test_queued_past_the_deadline_is_expired_and_counted() -> None:
    sim = run(send_deadline=True)
    summary = sim.result.summary  # type: ignore[attr-defined]
    assert summary["expired"] == 2 and sorted(sim.expired_rows) == [3, 4]
    assert list(np.asarray(sim.outcome)) == [OK, OK, OK, REJECTED, REJECTED]
    overall = summary["overall"]
    assert overall["ok"] + overall["rejected"] + overall["errors"] == 5  # none lost
    assert overall["rejected"] == 2
    # Answered at the deadline, not after the queue drained: the run ends at 3 s.
    assert sim.result.duration_s < 3.1  # type: ignore[attr-defined]


def test_without_a_deadline_nothing_expires() -> None:
    sim = run(send_deadline=False)
    assert sim.result.summary["expired"] == 0  # type: ignore[attr-defined]
    assert list(np.asarray(sim.outcome)) == [OK] * 5


def test_a_policy_that_knows_speeds_never_runs_a_lost_request() -> None:
    sim = run(send_deadline=True, policy="hybrid")
    overall = sim.result.summary["overall"]  # type: ignore[attr-defined]
    assert overall["ok"] + overall["rejected"] == 5
    # Every chat it ran met its deadline; the rest were refused or expired, none ran late.
    e2e = np.asarray(sim.e2e)[np.asarray(sim.outcome) == OK]
    assert (e2e <= 2.5 + 1e-9).all()
