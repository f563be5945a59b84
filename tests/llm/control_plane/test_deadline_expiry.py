"""Deadline expiry: a queued request whose deadline can no longer be met is named (by
the policy, or by its deadline passing) so the caller answers it; without a deadline a
request never expires."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.control_plane.errors import DeadlineExceededError
from sage.llm.control_plane.expiry import DeadlineExpiry
from sage.llm.control_plane.failover import Failover
from sage.llm.control_plane.policies import get_policy
from sage.llm.control_plane.transport import EngineFailure, Job
from sage.llm.control_plane.types import EngineState, Request, RequestKind
from sage.llm.engines.spec import EngineInfo
from tests.llm.control_plane.test_dispatcher import CHAT as BODY

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


def test_wake_at_is_the_earlier_of_the_policy_wakeup_and_a_queued_deadline() -> None:
    policy = get_policy("fifo")
    expiry = DeadlineExpiry()
    request = chat("a", 5.0)
    expiry.track(request)
    assert expiry.wake_at(3.0, policy) == 3.0  # nothing queued: deadlines do not count
    assert expiry.wake_at(None, policy) is None
    policy.enqueue(request, 0.0)
    assert expiry.wake_at(None, policy) == 5.0
    assert expiry.wake_at(7.0, policy) == 5.0
    assert expiry.wake_at(3.0, policy) == 3.0


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


async def test_the_control_plane_answers_a_lost_deadline_without_an_event(
    fake_engine: EngineInfo,
) -> None:
    """Its only engine is down (within a long restart grace): a request with a 0.3 s
    deadline is answered when that passes (a timer, no other event), one without waits."""
    async with ControlPlane("fifo", engine_down_grace_s=60, health_interval_s=60) as cp:
        cp.add_engine(fake_engine.url, kind="llm", models=["fake-llm"], engine_id="e")
        cp.mark_unhealthy("e")
        patient = asyncio.ensure_future(cp.submit(cp.new_request(CHAT, None), BODY))
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            await cp.submit(cp.new_request(CHAT, None, deadline_s=0.3), BODY)
        assert 0.25 <= time.monotonic() - started < 5.0
        assert cp.queue_depth() == 1 and cp.queue_timeouts.expired == 1  # the patient one
        cp.mark_healthy("e")
        assert (await patient).status == 200


class _Stub:
    """Just enough of the failover's collaborators: every engine serves, queue records."""

    def __init__(self) -> None:
        self.requeued: list[Request] = []
        self.policy = self

    def enqueue(self, request: Request, now: float) -> None:
        self.requeued.append(request)

    def can_serve(self, request: Request, besides: str | None = None) -> bool:
        return True

    def take_out(self, endpoint: object) -> None: ...

    def mark_unhealthy(self, engine_id: str) -> None: ...


async def test_a_failed_attempt_past_its_deadline_is_not_retried() -> None:
    stub = _Stub()
    failover = Failover(stub, stub, stub)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    lost, fresh = chat("lost", deadline=5.0), chat("fresh", deadline=50.0)
    for request in (lost, fresh):
        request.payload = Job(b"{}", False, loop.create_future())
    endpoint = SimpleNamespace(id="e", failures=0)
    failover.engine_failed(endpoint, [lost, fresh], EngineFailure("reset", False), now=6.0)  # type: ignore[arg-type]
    assert stub.requeued == [fresh]
    with pytest.raises(DeadlineExceededError):
        lost.payload.future.result()


def test_finished_requests_do_not_pile_up_behind_long_deadlines() -> None:
    """A client may send any deadline: what is watched stays bounded by the queue."""
    from sage.llm.control_plane.expiry import SLACK, DeadlineExpiry
    from sage.llm.control_plane.policies import get_policy
    from sage.llm.control_plane.types import Request, RequestKind

    expiry, policy = DeadlineExpiry(), get_policy("fifo")
    for i in range(3 * SLACK):
        expiry.track(Request(f"r{i}", RequestKind.CHAT, "m", deadline=1e9))  # served at once
    policy.enqueue(waiting := Request("w", RequestKind.CHAT, "m", deadline=5.0), 0.0)
    expiry.track(waiting)
    assert expiry.due(policy, 1.0) == [] and len(expiry) == 1  # only the queued one is left
    assert expiry.due(policy, 6.0) == [waiting]
