"""Deadline expiry: a queued request whose deadline can no longer be met is named (by
the policy, or by its deadline passing) so the caller answers it; without a deadline a
request never expires."""

from __future__ import annotations

from sage.llm.control_plane.expiry import DeadlineExpiry
from sage.llm.control_plane.policies import get_policy
from sage.llm.control_plane.types import EngineState, Request, RequestKind

CHAT = RequestKind.CHAT


def llm(capacity: int = 1) -> EngineState:
    return EngineState(
        "l0", frozenset({"llm"}), frozenset({"m"}), capacity=capacity,
        decode_tokens_per_s=100.0, prefill_tokens_per_s=1e9,
    )  # fmt: skip


def chat(id: str, deadline: float | None, t: float = 0.0, max_tokens: int = 100) -> Request:
    return Request(id, CHAT, "m", arrival=t, deadline=deadline, max_tokens=max_tokens)


def test_past_its_deadline_a_queued_request_expires_under_any_policy() -> None:
    policy = get_policy("fifo")
    expiry = DeadlineExpiry()
    for request in (chat("a", 5.0), chat("b", 9.0), chat("none", None)):
        policy.enqueue(request, 0.0)
        expiry.track(request)
    assert expiry.due(policy, 4.9) == []
    assert [r.id for r in expiry.due(policy, 5.0)] == ["a"]
    assert expiry.next_at() == 9.0
    assert [r.id for r in expiry.due(policy, 100.0)] == ["b"]
    # Without a deadline: never, however long it waits.
    assert [r.id for r in policy.pending()] == ["none"] and expiry.next_at() is None
    assert expiry.expired == 2


def test_a_request_no_longer_queued_is_not_expired() -> None:
    policy = get_policy("fifo")
    expiry = DeadlineExpiry()
    request = chat("a", 5.0)
    policy.enqueue(request, 0.0)
    expiry.track(request)
    assert policy.schedule([llm()], 0.0)  # dispatched: running, no longer queued
    assert expiry.due(policy, 10.0) == [] and expiry.expired == 0


def test_hybrid_expires_a_late_chat_once_it_cannot_finish_in_time() -> None:
    # One slot, a chat runs; 1 s of work each (100 tokens at 100 tok/s).
    policy = get_policy("hybrid")
    engines = [llm()]
    policy.enqueue(chat("running", 100.0), 0.0)
    assert policy.schedule(engines, 0.0)
    engines[0].in_flight = 1
    policy.enqueue(chat("tight", 5.0), 0.0)  # latest start 2.0 (first token 0.6 x 5 s), last 4.0
    policy.enqueue(chat("loose", 50.0), 0.0)
    policy.enqueue(chat("none", None), 0.0)
    assert policy.expire(1.0) == []  # on time
    assert policy.expire(3.0) == []  # late (first token lost) but it can still finish
    assert policy.next_wakeup(3.0) == 4.0  # when it can no longer finish
    assert [r.id for r in policy.expire(4.5)] == ["tight"]
    assert {r.id for r in policy.pending()} == {"loose", "none"}
    assert policy.describe()["llm_expired"] == 1
    assert [r.id for r in policy.expire(1e6)] == ["loose"]
    assert [r.id for r in policy.pending()] == ["none"]
