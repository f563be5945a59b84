"""The engine index (``EnginePool``) and the per-class queues: same decisions as before.

Property tests drive three copies of a policy with one random stream of arrivals,
schedule passes, completions, health flips and cancellations:

* the pre-index implementation (``reference_policies``) on a plain engine list,
* today's policy on a plain list (``ScanLedger``),
* today's policy on an ``EnginePool`` (the index the dispatcher and simulator pass),

and require identical admissions, dispatches (engine and requests, in order) and queues.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sage.llm.control_plane.policies import get_policy
from sage.llm.control_plane.policies.placement import ScanLedger, open_ledger
from sage.llm.control_plane.policies.slo_aware import SloAwarePolicy
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import Dispatch, EngineState, Request, RequestKind
from tests.llm.control_plane.reference_policies import REFERENCE

KINDS = [frozenset({"llm"}), frozenset({"embedding"}), frozenset({"llm", "embedding"})]
MODELS = [frozenset(), frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]


@st.composite
def engine_lists(draw: st.DrawFn) -> list[EngineState]:
    """Small pools, often of look-alike engines (load ties: the tie-break matters)."""
    n = draw(st.integers(1, 7))
    speeds = draw(st.booleans())  # advertised speeds (deadline admission) or not
    alike = draw(st.booleans())
    kinds = st.sampled_from(KINDS[:1] if alike else KINDS)
    models = st.sampled_from(MODELS[:1] if alike else [MODELS[0], *MODELS])
    return [
        EngineState(
            f"e{i}",
            draw(kinds),
            draw(models),
            capacity=draw(st.integers(1, 3)),
            max_batch=draw(st.integers(1, 4)),
            in_flight=draw(st.integers(0, 1)),
            healthy=draw(st.booleans()) or draw(st.booleans()),
            decode_tokens_per_s=draw(st.sampled_from([0.0, 20.0, 50.0])) if speeds else 0.0,
            prefill_tokens_per_s=draw(st.sampled_from([0.0, 400.0])) if speeds else 0.0,
            embed_items_per_s=draw(st.sampled_from([0.0, 30.0])) if speeds else 0.0,
        )
        for i in range(n)
    ]


ARRIVE = st.tuples(
    st.just("arrive"),
    st.sampled_from([RequestKind.CHAT, RequestKind.COMPLETION, RequestKind.EMBEDDING]),
    st.sampled_from(["a", "b"]),
    st.sampled_from(["t0", "t1", "t2"]),
    st.integers(0, 2),  # priority
    st.one_of(st.none(), st.floats(0.01, 3.0)),  # deadline, relative
    st.integers(0, 30),  # max_tokens
    st.integers(0, 60),  # prompt tokens
    st.integers(1, 3),  # inputs
)
OPS = st.lists(
    st.tuples(
        st.floats(0.0, 0.02),  # time step
        st.one_of(
            ARRIVE,
            ARRIVE,
            ARRIVE,
            st.tuples(st.just("schedule")),
            st.tuples(st.just("schedule")),
            st.tuples(st.just("complete"), st.integers(0, 50), st.booleans()),
            st.tuples(st.just("health"), st.integers(0, 50), st.booleans()),
            st.tuples(st.just("capacity"), st.integers(0, 50), st.integers(1, 3)),
            st.tuples(st.just("remove"), st.integers(0, 50)),
        ),
    ),
    min_size=10,
    max_size=80,
)
POLICY_OPTIONS: dict[str, dict[str, Any]] = {"hybrid": {"batch_size": 3, "max_wait_s": 0.01}}


def decisions(out: list[Dispatch]) -> list[tuple[str, list[str]]]:
    return [(d.engine_id, [r.id for r in d.requests]) for d in out]


class System:
    """One policy over its own copy of the engines."""

    def __init__(self, policy: object, engines: list[EngineState], pooled: bool) -> None:
        self.policy = policy
        copies = [replace(e) for e in engines]
        self.engines: list[EngineState] | EnginePool = EnginePool(copies) if pooled else copies
        self.by_id = {e.id: e for e in copies}
        self.pooled = pooled

    def count(self, engine_id: str, delta: int, fast: bool) -> None:
        engine = self.by_id[engine_id]
        if fast and isinstance(self.engines, EnginePool):
            self.engines.add_in_flight(engine, delta)
        else:
            engine.in_flight += delta  # the attribute hook keeps a pool current


def run_three(
    make_reference: Callable[[], object],
    make_policy: Callable[[], object],
    engines: list[EngineState],
    ops: list[tuple],
) -> None:
    systems = [
        System(make_reference(), engines, pooled=False),
        System(make_policy(), engines, pooled=False),
        System(make_policy(), engines, pooled=True),
    ]
    in_flight: list[Dispatch] = []
    now, ids = 0.0, 0
    for step, op in ops:
        now += step
        what = op[0]
        if what == "arrive":
            _, kind, model, tenant, priority, deadline, max_tokens, prompt, inputs = op
            request = Request(
                f"r{ids}", kind, model, tenant, priority, now,
                None if deadline is None else now + deadline, prompt, max_tokens,
                inputs if kind is RequestKind.EMBEDDING else 1,
            )  # fmt: skip
            ids += 1
            admitted = [s.policy.admit(request, s.engines, now) for s in systems]
            assert len(set(admitted)) == 1, (request, admitted)
            if admitted[0]:
                for s in systems:
                    s.policy.enqueue(request, now)
        elif what == "schedule":
            outs = [s.policy.schedule(s.engines, now) for s in systems]
            assert decisions(outs[1]) == decisions(outs[0])
            assert decisions(outs[2]) == decisions(outs[0])
            for s, out in zip(systems, outs, strict=True):
                for d in out:
                    s.count(d.engine_id, 1, fast=bool(ids % 2))
            in_flight += outs[0]
        elif what == "complete" and in_flight:
            done = in_flight.pop(op[1] % len(in_flight))
            for s in systems:
                s.count(done.engine_id, -1, fast=op[2])
                for r in done.requests:
                    s.policy.on_complete(r, done.engine_id, now, True)
        elif what == "health":
            engine_id = engines[op[1] % len(engines)].id
            for s in systems:
                s.by_id[engine_id].healthy = op[2]
        elif what == "capacity":
            engine_id = engines[op[1] % len(engines)].id
            for s in systems:
                s.by_id[engine_id].capacity = op[2]
        elif what == "remove":
            pending = systems[0].policy.pending()
            if pending:
                request_id = pending[op[1] % len(pending)].id
                removed = [s.policy.remove(request_id) for s in systems]
                assert removed[0] is removed[1] is removed[2]
        queues = [[r.id for r in s.policy.pending()] for s in systems]
        assert queues[1] == queues[0] and queues[2] == queues[0]
        assert len(systems[2].policy) == len(systems[0].policy)


@pytest.mark.parametrize("name", sorted(set(REFERENCE) - {"hybrid"}))  # hybrid: below
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engines=engine_lists(), ops=OPS)
def test_same_decisions_as_before_on_lists_and_pools(
    name: str, engines: list[EngineState], ops: list[tuple]
) -> None:
    options = POLICY_OPTIONS.get(name, {})
    run_three(
        lambda: REFERENCE[name](max_queue=12, **options),
        lambda: get_policy(name, max_queue=12, **options),
        engines,
        ops,
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engines=engine_lists(), ops=OPS)
@pytest.mark.parametrize("fair_share", [False, True])
def test_hybrid_same_decisions_on_lists_and_pools(
    engines: list[EngineState], ops: list[tuple], fair_share: bool
) -> None:
    """The joint ``hybrid`` (rewritten after the index: no pre-index reference) decides
    the same on a plain list and on a pool; with ``fair_share`` its inner ``fair`` policy
    sees the ledger its batches already used."""
    options = {"batch_size": 2, "max_wait_s": 0.005, "fair_share": fair_share, "max_queue": 12}
    run_three(
        lambda: get_policy("hybrid", **options),
        lambda: get_policy("hybrid", **options),
        engines,
        ops,
    )


# -- the pool's own answers ----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    engines=engine_lists(),
    changes=st.lists(
        st.tuples(
            st.integers(0, 50),
            st.sampled_from(["in_flight", "healthy", "capacity", "take", "open", "models"]),
            st.integers(-1, 3),
        ),
        max_size=40,
    ),
)
def test_pool_answers_like_a_scan(engines: list[EngineState], changes: list[tuple]) -> None:
    plain = [replace(e) for e in engines]
    pool = EnginePool([replace(e) for e in engines])
    scan = ScanLedger(plain)
    pool.open_pass()
    requests = [
        Request("q", kind, model)
        for kind in (RequestKind.CHAT, RequestKind.EMBEDDING)
        for model in ("a", "b")
    ]

    def check() -> None:
        assert pool.total_free() == scan.total_free()
        for request in requests:
            for question in ("first_free", "least_loaded"):
                expect = getattr(scan, question)(request)
                got = getattr(pool, question)(request)
                assert (got and got.id) == (expect and expect.id), question
            for start in range(len(plain)):
                assert pool.next_free(request, start) == scan.next_free(request, start)
            servers = [e for e in plain if e.can_serve(request)]
            assert pool.serving(request) == (
                len(servers),
                sum(max(1, e.capacity) for e in servers),
                sum(min(e.in_flight, e.capacity) for e in servers),
            )

    check()
    for index, what, value in changes:
        pos = index % len(plain)
        if what == "take":
            if scan.free[plain[pos].id] > 0:
                scan.take(plain[pos])
                pool.take(pool[pos])
        elif what == "open":  # a new pass: uncounted takes are dropped
            scan = ScanLedger(plain)
            pool.open_pass()
        elif what == "in_flight":
            for engines_ in (plain, pool):
                engines_[pos].in_flight = max(0, engines_[pos].in_flight + value)
            scan = ScanLedger(plain)
            pool.open_pass()
        elif what == "healthy":
            plain[pos].healthy = pool[pos].healthy = value > 0
            scan = ScanLedger(plain)
            pool.open_pass()
        elif what == "capacity":
            plain[pos].capacity = pool[pos].capacity = max(1, value)
            scan = ScanLedger(plain)
            pool.open_pass()
        elif what == "models":
            plain[pos].models = pool[pos].models = MODELS[value % len(MODELS)]
            scan = ScanLedger(plain)
            pool.open_pass()
        check()


def test_counting_a_dispatch_consumes_its_reservation() -> None:
    engine = EngineState("e", frozenset({"llm"}), frozenset(), capacity=2)
    pool = EnginePool([engine])
    request = Request("r", RequestKind.CHAT, "m")
    ledger = open_ledger(pool)
    assert ledger is pool
    ledger.take(engine)
    assert pool.total_free() == 1
    engine.in_flight += 1  # the caller counts the dispatch
    assert pool.total_free() == 1 and pool.serving(request) == (1, 2, 1)
    pool.open_pass()  # nothing left to drop
    assert pool.total_free() == 1
    pool.take(engine)
    pool.open_pass()  # never counted: the slot is free again
    assert pool.total_free() == 1
    assert pool.least_loaded(request) is engine


def test_a_state_in_a_second_pool_makes_the_first_scan() -> None:
    engines = [EngineState(f"e{i}", frozenset({"llm"}), frozenset()) for i in range(3)]
    first = EnginePool(engines)
    second = EnginePool(engines[:2])
    assert second.indexed and not first.indexed
    assert isinstance(open_ledger(first), ScanLedger)
    assert not EnginePool([engines[0], replace(engines[0])]).indexed  # duplicate ids


def test_copies_and_pickles_leave_the_pool_behind() -> None:
    engine = EngineState("e", frozenset({"llm"}), frozenset(), capacity=2)
    pool = EnginePool([engine])
    for clone in (copy.copy(engine), copy.deepcopy(engine), pickle.loads(pickle.dumps(engine))):
        assert clone == engine and "_pool" not in clone.__dict__
        clone.in_flight = 2
    assert pool.total_free() == 2
    assert list(pool) == [engine] and pool[0] is engine and len(pool) == 1


# -- deadline admission ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    engines=engine_lists(),
    queue=st.lists(
        st.tuples(
            st.sampled_from([RequestKind.CHAT, RequestKind.EMBEDDING]),
            st.one_of(st.none(), st.floats(0.0, 2.0)),
            st.integers(0, 40),
        ),
        max_size=30,
    ),
    observed=st.one_of(st.none(), st.floats(0.001, 1.0)),
    deadline=st.floats(0.001, 3.0),
    pooled=st.booleans(),
)
def test_indexed_admission_equals_the_scan(
    engines: list[EngineState],
    queue: list[tuple],
    observed: float | None,
    deadline: float,
    pooled: bool,
) -> None:
    policy = SloAwarePolicy(max_queue=100)
    view = EnginePool(engines) if pooled else engines
    if observed is not None:
        policy._observed["llm"] = policy._observed["embedding"] = observed
    probe = Request("probe", RequestKind.CHAT, "a", deadline=deadline, max_tokens=10)
    policy.admit(probe, view, 0.0)  # index (empty), then enqueue below incrementally
    for i, (kind, due, tokens) in enumerate(queue):
        policy.enqueue(Request(f"r{i}", kind, "a", deadline=due, max_tokens=tokens), 0.0)
    for kind in (RequestKind.CHAT, RequestKind.EMBEDDING):
        request = Request("x", kind, "a", deadline=deadline, max_tokens=7, prompt_tokens=9)
        assert policy.admit(request, view, 0.0) == policy._admit_by_scan(request, view, 0.0)


def test_admission_falls_back_to_the_scan_on_a_razor_thin_margin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A deadline exactly at the scan's estimate: the indexed sum cannot tell which side
    of it the scan's sum falls, so the scan decides."""
    engine = EngineState("e", frozenset({"llm"}), frozenset(), capacity=1)
    policy = SloAwarePolicy()
    policy._observed["llm"] = 0.1
    for i in range(3):
        policy.enqueue(Request(f"r{i}", RequestKind.CHAT, "m", deadline=0.2), 0.0)
    exact = 0.0 + (0.1 + 0.1 + 0.1 + 0.0) / 1 + 0.1  # the scan's formula, step for step
    scans: list[float] = []
    scan = policy._admit_by_scan
    monkeypatch.setattr(policy, "_admit_by_scan", lambda r, e, n: scans.append(1) or scan(r, e, n))
    for deadline in (exact, exact - 1e-12, exact + 1e-12):
        request = Request("x", RequestKind.CHAT, "m", deadline=deadline)
        assert policy.admit(request, [engine], 0.0) == scan(request, [engine], 0.0)
    assert scans == [1]  # only the razor-thin one needed the scan
    assert policy.admit(Request("x", RequestKind.CHAT, "m", deadline=exact), [engine], 0.0)
