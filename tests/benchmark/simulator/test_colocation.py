"""Co-location: engines of one device group slow each other, and the policy sees the group."""

from __future__ import annotations

import pytest

from sage.benchmark.serving.workload import KIND_EMBEDDING, KIND_LLM
from sage.benchmark.simulator.cluster import ClusterSpec
from sage.benchmark.simulator.core import Simulation, simulate
from sage.benchmark.simulator.profiles import GPU_SHARED_CONTENTION, Calibration, Contention
from tests.benchmark.simulator.helpers import ideal_calibration, make_workload

SLOW = Contention(llm_speed=0.5, embedding_speed=0.5)


def chat_and_batch(colocate: bool) -> tuple[float, float]:
    """e2e of a 1 s chat and a 0.5 s embedding batch sent together."""
    workload = make_workload([0.0, 0.0], kinds=[KIND_LLM, KIND_EMBEDDING], out=[1001, 0])
    cluster = ClusterSpec(1, 1, colocate=colocate)
    result = simulate(workload, ideal_calibration(contention=SLOW), cluster, "siloed")
    chat, batch = result.outcomes.e2e.tolist()
    return chat, batch


def test_a_busy_neighbour_slows_an_engine_of_the_same_group_only() -> None:
    alone_chat, alone_batch = chat_and_batch(colocate=False)
    assert (alone_chat, alone_batch) == pytest.approx((1.0, 0.5), abs=1e-3)  # TTFT floor: 0.1 ms
    chat, batch = chat_and_batch(colocate=True)
    assert batch == pytest.approx(1.0, abs=1e-3)  # half speed: the chat ran beside it
    assert chat == pytest.approx(1.5, abs=1e-3)  # half speed beside it for 1 s, then alone


def test_the_policy_sees_device_groups() -> None:
    workload = make_workload([0.0])
    paired = Simulation(workload, ideal_calibration(), ClusterSpec(2, 1, colocate=True))
    groups = {s.id: s.device_group for s in paired.states}
    assert groups == {"llm-0": "host-0", "embedding-0": "host-0", "llm-1": "host-1"}
    apart = Simulation(workload, ideal_calibration(), ClusterSpec(1, 1, colocate=False))
    assert {s.device_group for s in apart.states} == {""}


def test_gpu_class_profiles() -> None:
    cal = Calibration.load()
    own, shared = cal.gpu_class(), cal.gpu_class(shared_gpu=True)
    assert own.llm.decode_tokens_per_s == pytest.approx(20 * cal.llm.decode_tokens_per_s)
    assert own.llm.capacity == 8 and own.contention == Contention()
    assert shared.contention == GPU_SHARED_CONTENTION
