"""``hybrid`` displacement (Moore-Hodgson): a newcomer that would miss its start drops
the longest queued request of its tier ahead of it when that one is longer and dropping
it lets the newcomer start in time; the dropped one is answered at once (expiry)."""

from __future__ import annotations

from sage.llm.control_plane.expiry import DeadlineExpiry
from sage.llm.control_plane.policies import get_policy
from sage.llm.control_plane.types import EngineState, Request, RequestKind


def llm() -> EngineState:
    return EngineState(
        "l0", frozenset({"llm"}), frozenset({"m"}), capacity=1,
        decode_tokens_per_s=100.0, prefill_tokens_per_s=1e9,
    )  # fmt: skip


def chat(id: str, t: float, tokens: int, priority: int = 0) -> Request:
    # 10 s deadline budget: latest start min(0.6 x 10 s, 10 s - service) after arrival
    return Request(id, RequestKind.CHAT, "m", arrival=t, deadline=t + 10.0,
                   max_tokens=tokens, priority=priority)  # fmt: skip


def _queued_behind_a_running_chat(**options: object) -> tuple[object, list[EngineState]]:
    # One slot busy for 1 s (100 tokens at 100 tok/s); then a 6 s chat queued (latest
    # start 4 s, predicted start 1 s).
    policy = get_policy("hybrid", **options)
    engines = [llm()]
    policy.enqueue(chat("running", 0.0, 100), 0.0)
    assert policy.schedule(engines, 0.0)
    engines[0].in_flight = 1
    assert policy.admit(chat("long", 0.0, 600), engines, 0.0)
    policy.enqueue(chat("long", 0.0, 600), 0.0)
    return policy, engines


def test_a_short_newcomer_displaces_a_longer_queued_chat_of_its_tier() -> None:
    policy, engines = _queued_behind_a_running_chat()
    expiry = DeadlineExpiry()
    # Behind the long one it would start at 7 s, after its latest start (6 s); without it
    # at 1 s: the long one is dropped (answered at once), the short one queued.
    short = chat("short", 0.0, 50)
    assert policy.admit(short, engines, 0.0)
    policy.enqueue(short, 0.0)
    assert [r.id for r in expiry.due(policy, 0.0)] == ["long"]
    assert [r.id for r in policy.pending()] == ["short"]
    assert policy.describe()["llm_displaced"] == 1
    assert expiry.due(policy, 0.0) == []  # answered once


def test_a_newcomer_longer_than_what_is_queued_is_refused_instead() -> None:
    policy, engines = _queued_behind_a_running_chat()
    # latest start min(6.5, 10.5 - 6.5) = 4 s, predicted 7 s; the queued one is shorter.
    assert not policy.admit(chat("longer", 0.5, 650), engines, 0.5)
    assert [r.id for r in policy.pending()] == ["long"]
    assert policy.expire(0.5) == []


def test_no_displacement_when_dropping_would_not_let_the_newcomer_start_in_time() -> None:
    policy, engines = _queued_behind_a_running_chat()
    urgent = chat("urgent", 0.0, 600, priority=1)  # a higher tier goes first: 6 s more
    assert policy.admit(urgent, engines, 0.0)
    policy.enqueue(urgent, 0.0)
    # 1 + 6 + 6 s ahead; without the long one still 7 s > 6 s.
    assert not policy.admit(chat("short", 0.0, 50), engines, 0.0)
    assert sorted(r.id for r in policy.pending()) == ["long", "urgent"]
    assert policy.expire(0.0) == []


def test_displacement_off_refuses_as_before() -> None:
    policy, engines = _queued_behind_a_running_chat(displace=False)
    assert not policy.admit(chat("short", 0.0, 50), engines, 0.0)
    assert [r.id for r in policy.pending()] == ["long"]
