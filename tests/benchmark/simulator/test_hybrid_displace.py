"""In the simulator, ``hybrid`` keeps the short chats past capacity: a newcomer that
would miss displaces a longer queued chat, which is answered at once (a refusal counted
as ``expired``), so more chats meet their deadline than when it is refused instead."""

from __future__ import annotations

import numpy as np

from sage.benchmark.serving.metrics import OK, REJECTED
from sage.benchmark.serving.workload import SLO
from sage.benchmark.simulator.core import Simulation
from tests.benchmark.simulator.helpers import ideal_calibration, make_workload
from tests.benchmark.simulator.test_policies import LLM_ONLY, tenants_with


def run(displace: bool) -> Simulation:
    # One slot, 10 s deadlines (latest start 6 s: 0.6 of the budget). A 1 s chat runs, a
    # 4 s one queues, then seven 0.9 s ones arrive at once.
    out = [1000, 4000] + [900] * 7
    workload = make_workload([0.001 * i for i in range(9)], out=out)
    spec = tenants_with(llm_slo=[SLO(e2e_ms=10_000)], send_deadline=[True])
    sim = Simulation(
        workload, ideal_calibration(), LLM_ONLY, "hybrid", spec=spec,
        policy_options={"displace": displace},
    )  # fmt: skip
    sim.result = sim.run()  # type: ignore[attr-defined]
    return sim


def test_short_chats_displace_a_long_one_and_more_meet_their_deadline() -> None:
    sim = run(displace=True)
    outcome = list(np.asarray(sim.outcome))
    # The third short one would start at 6.8 s: the 4 s chat is dropped for it; the
    # seventh would start at 6.4 s behind six short ones and is refused.
    assert outcome == [OK, REJECTED] + [OK] * 6 + [REJECTED]
    assert sim.expired_rows == [1]  # displaced: answered, counted as expired
    assert sim.result.summary["expired"] == 1  # type: ignore[attr-defined]
    e2e = np.asarray(sim.e2e)[np.asarray(sim.outcome) == OK]
    assert (e2e <= 10.0).all()
    assert sim.policy is not None and sim.policy.describe()["llm_displaced"] == 1


def test_without_displacement_the_long_chat_runs_and_fewer_meet() -> None:
    sim = run(displace=False)
    outcome = list(np.asarray(sim.outcome))
    assert outcome == [OK, OK, OK, OK] + [REJECTED] * 5
    assert sim.expired_rows == []
