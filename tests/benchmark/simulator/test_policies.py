"""The simulator drives the real policy objects: same decisions as the policies make at
unit level, exact engine contention, engine-side and gateway-side batching."""

from __future__ import annotations

import numpy as np
import pytest

from sage.benchmark.serving.workload import (
    KIND_EMBEDDING,
    KIND_LLM,
    SLO,
    TenantSpec,
    WorkloadSpec,
    generate,
)
from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
from sage.benchmark.simulator.core import Simulation, simulate
from sage.benchmark.simulator.profiles import Calibration, Contention
from sage.llm.control_plane.policies import available_policies, get_policy
from sage.llm.control_plane.types import EngineState, Request, RequestKind
from tests.benchmark.simulator.helpers import ideal_calibration, make_workload

LLM_ONLY = ClusterSpec(llm_engines=1, embedding_engines=0, colocate=False)


def tenants_with(**fields: list[object]) -> WorkloadSpec:
    names = [f"t{i}" for i in range(len(next(iter(fields.values()))))]
    return WorkloadSpec(
        tenants=[
            TenantSpec(name=n, **{k: v[i] for k, v in fields.items()})  # type: ignore[arg-type]
            for i, n in enumerate(names)
        ]
    )


def unit_order(policy_name: str, requests: list[Request]) -> list[str]:
    """The order ``policy`` sends ``requests`` to one free engine of capacity 1."""
    policy = get_policy(policy_name)
    engine = EngineState("e", frozenset({"llm"}), frozenset())
    for r in requests:
        policy.enqueue(r, r.arrival)
    order = []
    while len(policy):
        (dispatch,) = policy.schedule([engine], 10.0)
        order += [r.id for r in dispatch.requests]
    return order


def completion_order(result: object, workload: object) -> list[str]:
    done = workload.t + result.outcomes.e2e  # type: ignore[attr-defined]
    return [str(i) for i in np.argsort(done, kind="stable")]


def test_priority_order_matches_the_policy() -> None:
    # Request 0 holds the engine for 1 s; 1..9 queue behind it with mixed priorities.
    priorities = [0, 2, 1, 0, 2, 1, 1, 0, 2, 1]
    tenant_of = {0: 0, 1: 1, 2: 2}
    t = [0.0] + [0.1 + 0.01 * i for i in range(1, 10)]
    workload = make_workload(
        t, tenants=[tenant_of[p] for p in priorities], out=[1001] + [11] * 9,
        names=["t0", "t1", "t2"],
    )  # fmt: skip
    spec = tenants_with(priority=[0, 1, 2], send_deadline=[False] * 3)
    result = simulate(workload, ideal_calibration(), LLM_ONLY, "priority", spec=spec)
    queued = [
        Request(str(i), RequestKind.CHAT, "m", f"t{priorities[i]}", priorities[i], t[i])
        for i in range(1, 10)
    ]
    assert completion_order(result, workload) == ["0", *unit_order("priority", queued)]
    assert completion_order(result, workload)[1:4] == ["1", "4", "8"]  # priority 2 first


def test_slo_aware_serves_earliest_deadline_first() -> None:
    deadlines_ms = [60_000, 30_000, 10_000]
    tenants = [0, 1, 2, 0, 1, 2, 2, 1]
    t = [0.0] + [0.1 + 0.01 * i for i in range(1, len(tenants) + 1)]
    workload = make_workload(
        t, tenants=[0, *tenants], out=[1001] + [11] * len(tenants), names=["t0", "t1", "t2"]
    )
    spec = tenants_with(llm_slo=[SLO(e2e_ms=d) for d in deadlines_ms])
    result = simulate(workload, ideal_calibration(), LLM_ONLY, "slo_aware", spec=spec)
    queued = [
        Request(str(i), RequestKind.CHAT, "m", f"t{k}", 0, t[i],
                deadline=t[i] + deadlines_ms[k] / 1000)
        for i, k in zip(range(1, len(t)), tenants, strict=True)
    ]  # fmt: skip
    assert completion_order(result, workload) == ["0", *unit_order("slo_aware", queued)]


def test_slo_aware_rejects_unmeetable_deadlines() -> None:
    # After one observed 1 s request, a 1.5 s deadline behind three queued ones is hopeless.
    t = [0.0, 1.5, 1.6, 1.7, 1.8]
    workload = make_workload(t, out=[1001] * 5)
    spec = tenants_with(llm_slo=[SLO(e2e_ms=1500)])
    result = simulate(workload, ideal_calibration(), LLM_ONLY, "slo_aware", spec=spec)
    overall = result.summary["overall"]
    assert overall["rejected"] >= 1
    assert overall["ok"] + overall["rejected"] == 5


@pytest.mark.parametrize("policy", available_policies())
def test_skipping_idle_passes_changes_no_decision(policy: str) -> None:
    """The fast path skips schedule() only where it could place nothing: identical runs."""
    spec = WorkloadSpec.default()
    workload = generate(spec, 3.0, n=1500, seed=4)
    cal = Calibration.load()
    cluster = ClusterSpec(llm_engines=2, embedding_engines=2, colocate=True)
    fast = simulate(workload, cal, cluster, policy, spec=spec)
    exact = simulate(workload, cal, cluster, policy, spec=spec, exact=True)
    assert np.array_equal(fast.outcomes.outcome, exact.outcomes.outcome)
    assert np.allclose(fast.outcomes.e2e, exact.outcomes.e2e, equal_nan=True)
    assert fast.events <= exact.events


def test_fair_share_is_never_skipped_while_it_could_bank_credit() -> None:
    assert not get_policy("fair").idle_pure
    assert get_policy("hybrid").idle_pure and not get_policy("hybrid", fair_share=True).idle_pure


def test_colocated_engines_slow_each_other_exactly() -> None:
    """LLM work 1 s and an embedding batch of 0.5 s start together at half speed each:
    the batch ends at 1.0 s, the LLM has 0.5 s (+ its 0.1 ms TTFT floor) left at full speed."""
    cal = ideal_calibration(contention=Contention(llm_speed=0.5, embedding_speed=0.5))
    workload = make_workload([0.0, 0.0], kinds=[KIND_LLM, KIND_EMBEDDING], out=[1001, 0])
    for policy in ("siloed", "fifo"):
        result = simulate(workload, cal, ClusterSpec(1, 1, colocate=True), policy)
        llm_e2e, emb_e2e = result.outcomes.e2e
        assert emb_e2e == pytest.approx(1.0)
        assert llm_e2e == pytest.approx(1.5 + 1e-4)
        assert result.outcomes.ttft[0] == pytest.approx(2e-4)  # first token at half speed
    apart = simulate(workload, cal, ClusterSpec(1, 1, colocate=False), "siloed")
    assert apart.outcomes.e2e.tolist() == pytest.approx([1.0001, 0.5])


def test_prefill_has_its_own_contention_speed() -> None:
    """Prefill 0.4 s alone, then 1 s of decode; an embedding batch (0.5 s) arrives 0.2 s
    in. Prefill runs at 0.25x from then: its last 0.2 s take 0.8 s, first token at 1.0.
    Decode runs at 0.5x until the batch ends at 1.2 (0.1 s done), then 0.9 s alone."""
    contention = Contention(llm_speed=0.5, llm_prefill_speed=0.25, embedding_speed=0.5)
    cal = ideal_calibration(contention=contention)
    cal = cal.model_copy(update={"llm": cal.llm.model_copy(update={"ttft_overhead_s": 0.4})})
    workload = make_workload([0.0, 0.2], kinds=[KIND_LLM, KIND_EMBEDDING], out=[1001, 0])
    for policy in ("siloed", "fifo"):
        result = simulate(workload, cal, ClusterSpec(1, 1, colocate=True), policy)
        assert result.outcomes.ttft[0] == pytest.approx(1.0)
        assert result.outcomes.e2e.tolist() == pytest.approx([2.1, 1.0])


def test_engine_micro_batches_queued_calls() -> None:
    """Siloed: calls queued behind a busy embedding engine share its next batch."""
    workload = make_workload([0.0, 0.1, 0.2, 0.3], kinds=[KIND_EMBEDDING] * 4, out=[0] * 4)
    result = simulate(workload, ideal_calibration(), ClusterSpec(0, 1, colocate=False), "siloed")
    done = workload.t + result.outcomes.e2e
    assert done.tolist() == pytest.approx([0.5, 1.0, 1.0, 1.0])


def test_a_merged_batch_answers_its_calls_one_after_another() -> None:
    """0.1 s per input to write answers: the lone first call is answered at 0.6; the next
    two share a batch (0.5-1.0 s) and are answered in turn, at 1.2 and 1.3."""
    cal = ideal_calibration()
    cal = cal.model_copy(update={"embedding": cal.embedding.model_copy(update={"per_item_s": 0.1})})
    workload = make_workload(
        [0.0, 0.1, 0.1], kinds=[KIND_EMBEDDING] * 3, out=[0] * 3, n_inputs=[1, 2, 1]
    )
    result = simulate(workload, cal, ClusterSpec(0, 1, colocate=False), "siloed")
    done = workload.t + result.outcomes.e2e
    assert done.tolist() == pytest.approx([0.6, 1.2, 1.3])


def test_hybrid_batches_across_clients_and_fifo_does_not() -> None:
    workload = make_workload([0.0, 0.001, 0.002, 0.003], kinds=[KIND_EMBEDDING] * 4, out=[0] * 4)
    cluster = ClusterSpec(0, 1, colocate=False, embedding_capacity=1)  # one call at a time
    hybrid = simulate(workload, ideal_calibration(), cluster, "hybrid")
    fifo = simulate(workload, ideal_calibration(), cluster, "fifo")
    hybrid_done = workload.t + hybrid.outcomes.e2e
    fifo_done = workload.t + fifo.outcomes.e2e
    assert np.allclose(hybrid_done, hybrid_done[0])  # one merged call, flushed at 5 ms
    assert hybrid_done[0] == pytest.approx(0.005 + 0.5)
    assert fifo_done.tolist() == pytest.approx([0.5, 1.0, 1.5, 2.0])  # one call each


def test_gateway_hop_is_added_to_unified_latency_only() -> None:
    cal = ideal_calibration().model_copy(update={"gateway_overhead_s": 0.01})
    workload = make_workload([0.0], out=[101])
    siloed = Simulation(workload, cal, LLM_ONLY, "siloed").run()
    unified = Simulation(workload, cal, LLM_ONLY, "fifo").run()
    assert unified.outcomes.e2e[0] - siloed.outcomes.e2e[0] == pytest.approx(0.01)


@pytest.mark.parametrize("policy", available_policies())
def test_engine_index_changes_no_decision(policy: str) -> None:
    """The simulator's indexed ``EnginePool`` and a plain scan of the same engines: the
    same run, request for request (a queue that fills, several engines per kind)."""
    spec = WorkloadSpec.default()
    cal = Calibration.load().scaled(20, llm_capacity=4, batch_slowdown=0.1)
    cluster = ClusterSpec.split(12, spec, cal, embedding_capacity=2)
    workload = generate(spec, 1.1 * capacity_rate(spec, cal, cluster), n=4000, seed=7)
    indexed = Simulation(workload, cal, cluster, policy, spec=spec, max_queue=64)
    scanned = Simulation(workload, cal, cluster, policy, spec=spec, max_queue=64)
    scanned.states.indexed = False  # policies fall back to scanning the list
    a, b = indexed.run(), scanned.run()
    assert a.summary["overall"]["rejected"] > 0  # the queue did fill
    assert np.array_equal(a.outcomes.outcome, b.outcomes.outcome)
    assert np.array_equal(a.outcomes.e2e, b.outcomes.e2e, equal_nan=True)
