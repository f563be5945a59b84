"""The joint ``hybrid`` policy: pure decisions with a fake clock (``now`` is a number)."""

from __future__ import annotations

import pytest

from sage.llm.control_plane.policies import get_policy
from sage.llm.control_plane.policies.hybrid import HybridPolicy
from sage.llm.control_plane.types import Dispatch, EngineState, Request, RequestKind

CHAT, EMB = RequestKind.CHAT, RequestKind.EMBEDDING


def llm(id: str = "l0", group: str = "gpu0", capacity: int = 1) -> EngineState:
    return EngineState(
        id, frozenset({"llm"}), frozenset({"m"}), capacity=capacity, device_group=group,
        decode_tokens_per_s=100.0, prefill_tokens_per_s=1000.0,
    )  # fmt: skip


def emb(id: str = "e0", group: str = "gpu0", capacity: int = 8) -> EngineState:
    return EngineState(
        id, frozenset({"embedding"}), frozenset({"e"}), capacity=capacity, device_group=group
    )


def chat(id: str, t: float = 0.0, deadline: float | None = None, **kw: object) -> Request:
    return Request(id, CHAT, "m", arrival=t, deadline=deadline, max_tokens=100, **kw)  # type: ignore[arg-type]


def embedding(id: str, tokens: int = 10, n: int = 1, t: float = 0.0, **kw: object) -> Request:
    return Request(id, EMB, "e", arrival=t, prompt_tokens=tokens * n, n_inputs=n, **kw)  # type: ignore[arg-type]


def run(policy: HybridPolicy, engines: list[EngineState], now: float) -> list[Dispatch]:
    out = policy.schedule(engines, now)
    by_id = {e.id: e for e in engines}
    for d in out:
        by_id[d.engine_id].in_flight += 1
    return out


def ids(dispatches: list[Dispatch]) -> list[list[str]]:
    return [[r.id for r in d.requests] for d in dispatches]


def test_embeddings_of_similar_length_share_a_batch() -> None:
    policy = get_policy("hybrid", max_wait_s=0.0)
    for i, tokens in enumerate([8, 8, 120, 9, 110]):
        policy.enqueue(embedding(f"e{i}", tokens, t=i * 0.001), now=0.0)
    engine = emb(group="", capacity=2)
    out = run(policy, [engine], now=0.01)  # type: ignore[arg-type]
    # Padding the short ones to 120 tokens would cost 10x their work: two batches.
    assert ids(out) == [["e0", "e1", "e3"], ["e2", "e4"]]


def test_embedding_concurrency_follows_the_colocated_llm() -> None:
    policy = get_policy("hybrid", max_wait_s=0.0)
    engines = [llm("l0", "gpu0"), emb("e0", "gpu0"), emb("e1", "gpu1")]
    policy.enqueue(chat("c0", deadline=100.0), now=0.0)
    policy.enqueue(chat("c1", deadline=100.0), now=0.0)  # waits: the LLM is at risk
    assert ids(run(policy, engines, now=0.0)) == [["c0"]]  # type: ignore[arg-type]
    for i in range(6):  # too different in length to share a batch
        policy.enqueue(embedding(f"x{i}", tokens=4 * 3**i), now=0.0)
    out = run(policy, engines, now=0.0)  # type: ignore[arg-type]
    placed = {e: sum(d.engine_id == e for d in out) for e in ("e0", "e1")}
    assert placed == {"e0": 1, "e1": 2}  # one call beside the busy LLM, two on the idle GPU


def test_deferred_embedding_waits_for_the_llm_within_its_own_budget() -> None:
    policy = get_policy("hybrid", max_wait_s=0.0, defer_s=0.2)
    engines = [llm("l0"), emb("e0")]
    policy.enqueue(chat("c0", deadline=100.0), now=0.0)
    policy.enqueue(chat("c1", deadline=100.0), now=0.0)
    run(policy, engines, now=0.0)  # type: ignore[arg-type]
    policy.enqueue(embedding("a", deadline=0.3), now=0.0)  # budget 0.3 s: waits <= 0.15
    assert run(policy, engines, now=0.01) == []  # type: ignore[arg-type]
    assert policy.next_wakeup(0.01) == pytest.approx(0.15)
    assert ids(run(policy, engines, now=0.15)) == [["a"]]  # type: ignore[arg-type]


def test_an_idle_llm_lets_embeddings_go_at_once() -> None:
    policy = get_policy("hybrid", max_wait_s=0.0, defer_s=0.2)
    policy.enqueue(embedding("a"), now=0.0)
    assert ids(run(policy, [llm(), emb()], now=0.0)) == [["a"]]  # type: ignore[arg-type]


def test_admission_refuses_what_cannot_meet_its_deadline() -> None:
    policy = get_policy("hybrid")
    engines = [llm()]
    # 100 tokens at 100 tok/s: 1 s each; three more urgent ones queued ahead of it
    for i in range(3):
        assert policy.admit(chat(f"c{i}", deadline=5.0), engines, now=0.0)
        policy.enqueue(chat(f"c{i}", deadline=2.0), now=0.0)
    assert policy.admit(chat("late", deadline=2.5, priority=0), engines, now=0.0) is False
    assert policy.admit(chat("urgent", deadline=2.5, priority=1), engines, now=0.0)  # goes first
    assert not policy.admit(embedding("gone", deadline=1.0), engines, now=1.0)
    fast = [EngineState("e", frozenset({"embedding"}), frozenset({"e"}), embed_items_per_s=100.0)]
    for i in range(3):
        policy.enqueue(embedding(f"q{i}", n=100, deadline=0.5), now=0.0)
    assert policy.admit(embedding("soon", deadline=3.0), fast, now=0.0)  # 301 inputs: 3 s
    assert not policy.admit(embedding("hopeless", deadline=1.0), fast, now=0.0)


def test_higher_tier_first_and_late_requests_after_on_time_ones() -> None:
    policy = get_policy("hybrid")
    engines = [llm()]
    policy.enqueue(chat("low", t=0.0, deadline=50.0), now=0.0)
    policy.enqueue(chat("high", t=0.0, deadline=50.0, priority=1), now=0.0)
    policy.enqueue(chat("stale", t=0.0, deadline=0.5), now=0.0)  # 1 s of work: already late
    assert ids(run(policy, engines, now=0.0)) == [["high"]]  # type: ignore[arg-type]
    engines[0].in_flight = 0
    assert ids(run(policy, engines, now=1.0)) == [["low"]]  # type: ignore[arg-type]
    engines[0].in_flight = 0
    assert ids(run(policy, engines, now=2.0)) == [["stale"]]  # type: ignore[arg-type]


def test_decisions_are_a_function_of_the_calls() -> None:
    def decide() -> list[tuple[str, list[str]]]:
        policy = get_policy("hybrid")
        engines = [llm("l0"), llm("l1", "gpu1"), emb("e0"), emb("e1", "gpu1")]
        out = []
        for step in range(30):
            now = step * 0.05
            if step % 3:
                policy.enqueue(embedding(f"e{step}", tokens=5 + step % 7, t=now), now=now)
            else:
                policy.enqueue(chat(f"c{step}", t=now, deadline=now + 5.0), now=now)
            for d in run(policy, engines, now):  # type: ignore[arg-type]
                out.append((d.engine_id, [r.id for r in d.requests]))
            for e in engines:
                e.in_flight = max(0, e.in_flight - 1)
        return out

    assert decide() == decide()


def test_a_retried_embedding_is_batched_once() -> None:
    """A failed batch's requests are queued again while an older heap entry of one of
    them is still in the heap (behind a request of another length): it must not count."""
    policy = HybridPolicy(max_wait_s=0.0)
    engine = emb(group="", capacity=1)
    a = embedding("a", tokens=10, deadline=1.0)
    c = embedding("c", tokens=100, deadline=2.0)  # too long to share a batch with a, b
    b = embedding("b", tokens=10, deadline=3.0)
    for request in (a, c, b):
        policy.enqueue(request, 0.0)
    assert [[r.id for r in d.requests] for d in run(policy, [engine], 0.0)] == [["a", "b"]]
    engine.in_flight = 0  # the call failed: failover queues a and b again
    policy.enqueue(a, 0.1)
    policy.enqueue(b, 0.1)
    assert [[r.id for r in d.requests] for d in run(policy, [engine], 0.1)] == [["a", "b"]]
    assert [r.id for r in policy.pending()] == ["c"]
