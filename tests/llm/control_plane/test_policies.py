"""Scheduling policies, driven with a deterministic fake clock (``now`` is a number)."""

from __future__ import annotations

import pytest

from sage.common.errors import ConfigError
from sage.llm.control_plane.policies import available_policies, get_policy
from sage.llm.control_plane.rate_limit import TenantRateLimiter, TokenBucket
from sage.llm.control_plane.types import Dispatch, EngineState, Request, RequestKind

CHAT, EMB = RequestKind.CHAT, RequestKind.EMBEDDING


def llm(id: str = "l0", capacity: int = 1, in_flight: int = 0, **kw: float) -> EngineState:
    return EngineState(
        id, frozenset({"llm"}), frozenset({"m"}), capacity=capacity, in_flight=in_flight, **kw
    )


def emb(id: str = "e0", capacity: int = 1, max_batch: int = 64) -> EngineState:
    return EngineState(
        id, frozenset({"embedding"}), frozenset({"e"}), capacity=capacity, max_batch=max_batch
    )


def req(id: str, kind: RequestKind = CHAT, t: float = 0.0, **kw: object) -> Request:
    return Request(id, kind, "e" if kind is EMB else "m", arrival=t, **kw)  # type: ignore[arg-type]


def ids(dispatches: list[Dispatch]) -> list[str]:
    return [r.id for d in dispatches for r in d.requests]


def apply(engines: list[EngineState], dispatches: list[Dispatch]) -> None:
    by_id = {e.id: e for e in engines}
    for d in dispatches:
        by_id[d.engine_id].in_flight += 1


def test_all_policies_registered() -> None:
    assert {
        "fifo",
        "round_robin",
        "least_loaded",
        "priority",
        "slo_aware",
        "hybrid",
        "fair",
    } <= set(available_policies())
    with pytest.raises(ConfigError, match="unknown policy 'nope'; available: fair, fifo"):
        get_policy("nope")


@pytest.mark.parametrize(
    "name", ["fifo", "round_robin", "least_loaded", "priority", "slo_aware", "hybrid", "fair"]
)
def test_capacity_respected_and_nothing_lost(name: str) -> None:
    policy = get_policy(name)
    engines = [llm("a", capacity=2), llm("b", capacity=1, in_flight=1)]
    for i in range(6):
        policy.enqueue(req(f"r{i}", t=i), now=i)
    out = policy.schedule(engines, now=10)
    counts: dict[str, int] = {}
    for d in out:
        counts[d.engine_id] = counts.get(d.engine_id, 0) + 1
    assert counts == {"a": 2}  # b is full
    assert len(policy) == 4
    assert {r.id for r in policy.pending()} | set(ids(out)) == {f"r{i}" for i in range(6)}
    # Nothing more fits until something completes.
    apply(engines, out)
    assert policy.schedule(engines, now=11) == []
    engines[0].in_flight -= 1
    assert len(ids(policy.schedule(engines, now=12))) == 1


def test_fifo_order_and_remove() -> None:
    policy = get_policy("fifo")
    for i in range(3):
        policy.enqueue(req(f"r{i}", t=i), now=i)
    assert policy.remove("r1") is not None and policy.remove("zz") is None
    engines = [llm(capacity=4)]
    assert ids(policy.schedule(engines, now=5)) == ["r0", "r2"]


def test_round_robin_rotates_engines() -> None:
    policy = get_policy("round_robin")
    engines = [llm("a", capacity=4), llm("b", capacity=4)]
    for i in range(4):
        policy.enqueue(req(f"r{i}"), now=0)
    assert [d.engine_id for d in policy.schedule(engines, now=0)] == ["a", "b", "a", "b"]


def test_least_loaded_picks_emptiest_engine() -> None:
    policy = get_policy("least_loaded")
    engines = [llm("a", capacity=4, in_flight=3), llm("b", capacity=4, in_flight=1)]
    policy.enqueue(req("r0"), now=0)
    assert policy.schedule(engines, now=0)[0].engine_id == "b"


def test_other_kind_does_not_block() -> None:
    policy = get_policy("least_loaded")
    policy.enqueue(req("e0", EMB), now=0)  # no embedding engine
    policy.enqueue(req("c0"), now=0)
    assert ids(policy.schedule([llm()], now=0)) == ["c0"]
    assert [r.id for r in policy.pending()] == ["e0"]


def test_priority_order() -> None:
    policy = get_policy("priority")
    policy.enqueue(req("low", t=0, priority=0), now=0)
    policy.enqueue(req("high", t=1, priority=5), now=1)
    policy.enqueue(req("mid", t=2, priority=2), now=2)
    policy.enqueue(req("high2", t=3, priority=5), now=3)
    engines = [llm(capacity=1)]
    order = []
    for step in range(4):
        out = policy.schedule(engines, now=10 + step)
        order += ids(out)
    assert order == ["high", "high2", "mid", "low"]


def test_slo_aware_is_earliest_deadline_first() -> None:
    policy = get_policy("slo_aware")
    policy.enqueue(req("late", t=0, deadline=50.0), now=0)
    policy.enqueue(req("none", t=0), now=0)
    policy.enqueue(req("soon", t=1, deadline=5.0), now=1)
    order = [ids(policy.schedule([llm()], now=2 + i))[0] for i in range(3)]
    assert order == ["soon", "late", "none"]


def test_slo_aware_rejects_unmeetable_deadline_at_admission() -> None:
    policy = get_policy("slo_aware")
    # 10 tokens/s decode: a 20-token request takes 2 s.
    engines = [llm(decode_tokens_per_s=10.0)]
    ok = req("ok", t=0, deadline=3.0, max_tokens=20)
    assert policy.admit(ok, engines, now=0)
    policy.enqueue(ok, now=0)
    # Behind "ok" (2 s) a second 2 s request cannot finish by t=3.
    late = req("late", t=0, deadline=3.0, max_tokens=20)
    assert not policy.admit(late, engines, now=0)
    assert policy.admit(req("roomy", t=0, deadline=10.0, max_tokens=20), engines, now=0)
    assert not policy.admit(req("past", t=0, deadline=1.0), engines, now=2.0)
    # Without deadline: always admitted (up to the queue bound).
    assert policy.admit(req("free", t=0), engines, now=0)


def test_slo_aware_learns_service_time_when_speed_unknown() -> None:
    policy = get_policy("slo_aware")
    engines = [llm()]
    first = req("a", t=0)
    policy.enqueue(first, now=0)
    [d] = policy.schedule(engines, now=0)
    policy.on_complete(first, d.engine_id, now=4.0, ok=True)  # took 4 s
    assert not policy.admit(req("b", t=5, deadline=7.0), engines, now=5.0)
    assert policy.admit(req("c", t=5, deadline=10.0), engines, now=5.0)


def test_queue_bound() -> None:
    policy = get_policy("fifo", max_queue=2)
    for i in range(2):
        policy.enqueue(req(f"r{i}"), now=0)
    assert not policy.admit(req("r2"), [llm()], now=0)


def test_hybrid_flushes_embedding_batch_on_size() -> None:
    policy = get_policy("hybrid", batch_size=4, max_wait_s=1.0)
    engines = [emb(max_batch=64)]
    for i in range(3):
        policy.enqueue(req(f"e{i}", EMB, t=0), now=0)
    assert policy.schedule(engines, now=0.1) == []  # 3 < 4 and not waited long enough
    assert policy.next_wakeup(0.1) == pytest.approx(1.0)
    policy.enqueue(req("e3", EMB, t=0.2), now=0.2)
    [batch] = policy.schedule(engines, now=0.2)
    assert ids([batch]) == ["e0", "e1", "e2", "e3"]
    assert len(policy) == 0


def test_hybrid_flushes_embedding_batch_after_wait() -> None:
    policy = get_policy("hybrid", batch_size=32, max_wait_s=0.01)
    engines = [emb()]
    policy.enqueue(req("e0", EMB, t=0.0), now=0.0)
    policy.enqueue(req("e1", EMB, t=0.004), now=0.004)
    assert policy.schedule(engines, now=0.005) == []
    wake = policy.next_wakeup(0.005)
    assert wake == pytest.approx(0.01)
    [batch] = policy.schedule(engines, now=wake)
    assert ids([batch]) == ["e0", "e1"]
    assert policy.next_wakeup(wake) is None


def test_hybrid_batch_respects_engine_max_batch_and_inputs() -> None:
    policy = get_policy("hybrid", batch_size=8, max_wait_s=0.0)
    engines = [emb(capacity=2, max_batch=5)]
    for i in range(4):
        policy.enqueue(req(f"e{i}", EMB, t=0, n_inputs=2), now=0)
    out = policy.schedule(engines, now=0)
    assert [len(d.requests) for d in out] == [2, 2]  # 4 inputs per batch (5 would overflow)


def test_hybrid_mixes_kinds_and_shares_a_dual_engine() -> None:
    policy = get_policy("hybrid", batch_size=2, max_wait_s=0.0)
    both = EngineState("both", frozenset({"llm", "embedding"}), frozenset({"m", "e"}))
    only_llm = llm("l", capacity=1)
    policy.enqueue(req("c0", t=0), now=0)
    policy.enqueue(req("c1", t=0), now=0)
    out = policy.schedule([only_llm, both], now=0)
    # The specialist takes the first chat; the dual engine absorbs the burst.
    assert {(d.engine_id, d.requests[0].id) for d in out} == {("l", "c0"), ("both", "c1")}
    policy2 = get_policy("hybrid", batch_size=2, max_wait_s=0.0)
    policy2.enqueue(req("e0", EMB), now=0)
    policy2.enqueue(req("c0"), now=0)
    both.in_flight = 0
    out = policy2.schedule([both], now=0)
    assert ids(out) == ["e0"]  # one slot: the batch goes, the chat waits
    assert [r.id for r in policy2.pending()] == ["c0"]


def test_fair_share_prevents_starvation() -> None:
    policy = get_policy("fair")
    for i in range(50):
        policy.enqueue(req(f"a{i}", t=i * 0.001, tenant="a"), now=0)
    policy.enqueue(req("b0", t=1.0, tenant="b"), now=1.0)
    policy.enqueue(req("b1", t=1.0, tenant="b"), now=1.0)
    engine = llm(capacity=1)
    served = []
    for step in range(6):
        served += ids(policy.schedule([engine], now=2 + step))
    # b's requests are served within the first rounds despite a's 50-request burst.
    # (FIFO would serve them 51st and 52nd.)
    assert "b0" in served[:3] and "b1" in served[:5]
    assert len(policy) == 52 - len(served)


def test_hybrid_fair_share_option() -> None:
    policy = get_policy("hybrid", fair_share=True)
    for i in range(10):
        policy.enqueue(req(f"a{i}", tenant="a"), now=0)
    policy.enqueue(req("b0", tenant="b"), now=0)
    engine = llm()
    served = [ids(policy.schedule([engine], now=i))[0] for i in range(2)]
    assert "b0" in served


def test_token_bucket_rate_limit() -> None:
    bucket = TokenBucket(rate=2.0, burst=2.0)
    assert bucket.try_take(0.0) and bucket.try_take(0.0)
    assert not bucket.try_take(0.0)
    assert bucket.retry_after() == pytest.approx(0.5)
    assert bucket.try_take(0.5)
    limiter = TenantRateLimiter({"a": 1.0})
    assert limiter.check("a", 0.0) is None
    assert limiter.check("a", 0.1) == pytest.approx(0.9)
    assert limiter.check("b", 0.1) is None  # unlimited tenant
    assert limiter.check("a", 1.2) is None


def test_fair_share_banks_no_credit_while_blocked() -> None:
    """A tenant whose requests cannot be placed earns nothing to burst with later."""
    from sage.llm.control_plane.policies import get_policy
    from sage.llm.control_plane.types import EngineState, Request, RequestKind

    policy = get_policy("fair")
    llm = EngineState("llm", frozenset({"llm"}), frozenset(), capacity=1, in_flight=1)
    emb = EngineState("emb", frozenset({"embedding"}), frozenset(), capacity=1)
    for i in range(3):
        policy.enqueue(Request(f"a{i}", RequestKind.CHAT, "m", tenant="a"), 0.0)
    for _ in range(50):  # the LLM engine is full: tenant a waits, and must not bank
        assert policy.schedule([llm, emb], 0.0) == []
    llm.in_flight = 0
    llm.capacity = 3
    for i in range(3):
        policy.enqueue(Request(f"b{i}", RequestKind.CHAT, "m", tenant="b"), 0.0)
    tenants = [d.requests[0].tenant for d in policy.schedule([llm, emb], 0.0)]
    assert sorted(tenants[:2]) == ["a", "b"], tenants  # turns alternate, no burst from a
