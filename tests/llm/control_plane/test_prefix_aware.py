"""prefix_aware: affinity, the balance bound, holding for a cached engine, eviction, death."""

from __future__ import annotations

import itertools

from sage.llm.control_plane.policies import get_policy
from sage.llm.control_plane.policies.prefix_aware import PrefixAwarePolicy
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import EngineState, Request, RequestKind
from sage.llm.prefix_hash import prompt_block_hashes

_ids = itertools.count()


def request(tenant: str, question: str = "q", now: float = 0.0) -> Request:
    system = f"You are the assistant of {tenant}. " * 40  # ~1.4k characters: 6 blocks
    hashes = prompt_block_hashes([{"role": "system", "content": system},
                                  {"role": "user", "content": question}])  # fmt: skip
    return Request(f"r{next(_ids)}", RequestKind.CHAT, "m", arrival=now, prefix_hashes=hashes)


def engines(n: int = 2, capacity: int = 4) -> list[EngineState]:
    return [EngineState(f"e{i}", frozenset({"llm"}), frozenset({"m"}), capacity) for i in range(n)]


def run(policy: PrefixAwarePolicy, pool: list[EngineState], req: Request, now: float = 0.0) -> str:
    policy.enqueue(req, now)
    (dispatch,) = policy.schedule(pool, now)
    for engine in pool:
        if engine.id == dispatch.engine_id:
            engine.in_flight += 1
    return dispatch.engine_id


def finish(pool: list[EngineState], engine_id: str) -> None:
    next(e for e in pool if e.id == engine_id).in_flight -= 1


def test_registered_and_options_checked() -> None:
    policy = get_policy("prefix_aware", hold_s=0.5, source="precise")
    assert isinstance(policy, PrefixAwarePolicy) and policy.source == "precise"


def test_a_tenant_sticks_to_the_engine_that_has_its_prefix() -> None:
    policy, pool = PrefixAwarePolicy(), engines()
    first = {t: run(policy, pool, request(t)) for t in ("acme", "globex")}
    assert first["acme"] != first["globex"]  # spread while nothing is cached
    for t in ("acme", "globex", "acme", "globex"):
        engine = run(policy, pool, request(t, "another question"))
        finish(pool, engine)
        assert engine == first[t]
    assert policy.describe()["expected_hit_rate"] > 0.5


def test_one_hot_prefix_cannot_pile_onto_one_engine() -> None:
    policy, pool = PrefixAwarePolicy(balance_abs=2, balance_rel=1.5), engines(capacity=8)
    placed = [run(policy, pool, request("acme", str(i))) for i in range(8)]
    assert placed.count("e1") >= 2  # past the spread bound, load decides
    assert max(e.in_flight for e in pool) - min(e.in_flight for e in pool) <= 3


def test_new_prefixes_spread_over_idle_engines() -> None:
    policy, pool = PrefixAwarePolicy(), engines()
    homes = []
    for t in ("acme", "globex", "initech", "umbrella"):
        homes.append(run(policy, pool, request(t)))
        finish(pool, homes[-1])  # one at a time: every engine idle at each decision
    assert sorted(homes) == ["e0", "e0", "e1", "e1"]


def test_precise_mode_spreads_new_prefixes_by_homes_not_cache_fill() -> None:
    """Engines' caches are about equally full once warm, so a report's size says nothing
    about how many sessions an engine serves: a new prefix goes to the free engine home
    to the fewest prefixes (else new sessions piled onto engines already serving some
    and their next turns collided)."""
    for pool in (engines(3, capacity=1), EnginePool(engines(3, capacity=1))):
        policy = PrefixAwarePolicy(source="precise")
        for engine_id, tenant in (("e0", "old"), ("e1", "older"), ("e2", "oldest")):
            policy.observe(engine_id, request(tenant).prefix_hashes)  # full-ish caches
        policy.observe("e0", [*request("old").prefix_hashes, *request("x").prefix_hashes])
        first = run(policy, pool, request("acme"))  # type: ignore[arg-type]
        finish(pool, first)  # type: ignore[arg-type]
        second = run(policy, pool, request("globex"))  # type: ignore[arg-type]
        finish(pool, second)  # type: ignore[arg-type]
        third = run(policy, pool, request("initech"))  # type: ignore[arg-type]
        assert len({first, second, third}) == 3
        assert policy.describe()["homes"] == {"e0": 1, "e1": 1, "e2": 1}


def test_waits_for_its_busy_engine_then_gives_up() -> None:
    policy, pool = PrefixAwarePolicy(hold_s=1.0), engines(capacity=1)
    home = run(policy, pool, request("acme"))  # acme's engine is now busy
    policy.enqueue(request("acme", "again", now=0.1), 0.1)
    assert policy.schedule(pool, 0.2) == []  # the other engine is free, but cold
    assert policy.next_wakeup(0.2) == 1.2  # hold_s from its first wait
    (later,) = policy.schedule(pool, 1.2)  # held long enough: go where there is room
    assert later.engine_id != home


def test_a_request_that_queued_while_all_were_busy_still_waits_for_its_engine() -> None:
    """Under load a request reaches the head of the queue long after it arrived: its
    hold starts then, or prefix_aware would place like least_loaded exactly when the
    pool is busy."""
    policy, pool = PrefixAwarePolicy(hold_s=1.0), engines(capacity=1)
    home = run(policy, pool, request("acme"))
    other = run(policy, pool, request("globex"))  # both engines busy now
    policy.enqueue(request("acme", "again", now=0.1), 0.1)
    assert policy.schedule(pool, 5.0) == []  # nothing free: queued for 5 s
    finish(pool, other)  # globex's engine frees first
    assert policy.schedule(pool, 5.1) == []  # waits for acme's engine all the same
    finish(pool, home)
    (dispatch,) = policy.schedule(pool, 5.3)
    assert dispatch.engine_id == home


def test_evicted_blocks_and_dead_engines_are_misses_not_errors() -> None:
    policy, pool = PrefixAwarePolicy(max_blocks=8), engines()
    home = run(policy, pool, request("acme"))
    for t in ("b", "c", "d"):  # their blocks push acme's out of the bounded index
        policy._index_of(home).add(request(t).prefix_hashes)
    assert policy._index_of(home).match(request("acme").prefix_hashes) == 0
    pool[0].healthy = False
    assert run(policy, pool, request("acme")) == "e1"
    survivors = [pool[1]]
    assert run(policy, survivors, request("acme")) == "e1"
    assert "e0" not in policy.index


def test_an_engine_that_comes_back_is_home_to_none() -> None:
    policy, pool = PrefixAwarePolicy(), engines(capacity=1)
    assert run(policy, pool, request("acme")) == "e0"
    policy.forget("e0")  # died: its cache and the prefixes it was home to go with it
    finish(pool, "e0")
    assert run(policy, pool, request("acme", "again")) == "e0"  # back, cold, home again
    assert policy.describe()["homes"] == {"e0": 1}


def test_precise_mode_believes_the_engines() -> None:
    policy, pool = PrefixAwarePolicy(source="precise"), engines()
    policy.observe("e1", request("acme").prefix_hashes[:-1])  # the system prompt's blocks
    assert run(policy, pool, request("acme", "new")) == "e1"
    assert not policy.index["e1"].match(request("globex").prefix_hashes)


def test_precise_mode_remembers_what_it_sent_until_the_engine_reports_it() -> None:
    """A new prefix's first request is still prefilling (not stored, not reported): the
    next ones of that prefix wait for its engine instead of prefilling it cold elsewhere."""
    policy, pool = PrefixAwarePolicy(source="precise", hold_s=5.0), engines(capacity=1)
    home = run(policy, pool, request("acme"))
    policy.observe(home, [])  # a report from before acme's state was stored
    policy.enqueue(request("acme", "again", now=0.5), 0.5)
    assert policy.schedule(pool, 0.5) == []  # waits for acme's engine, the other is cold
    stored = request("acme").prefix_hashes
    policy.observe(home, stored)  # stored and reported: nothing left unreported
    assert not policy._unreported[home]
    policy.observe(home, [])  # then evicted: the engine's word stands
    assert policy.index[home].match(stored) == 0


def test_same_decisions_on_an_engine_pool() -> None:
    plain, pooled = PrefixAwarePolicy(), PrefixAwarePolicy()
    a, b = engines(3), EnginePool(engines(3))
    for i in range(12):
        req = request(f"t{i % 4}", str(i))
        chosen = run(plain, a, req)
        assert chosen == run(pooled, b, req)  # type: ignore[arg-type]
        if i % 2:
            finish(a, chosen)
            finish(b, chosen)  # type: ignore[arg-type]


def test_hybrid_places_llm_requests_by_prefix_when_asked() -> None:
    hybrid, pool = get_policy("hybrid", prefix_aware=True), engines()
    homes = {t: run(hybrid, pool, request(t)) for t in ("acme", "globex")}  # type: ignore[arg-type]
    for t in ("globex", "acme"):
        engine = run(hybrid, pool, request(t, "more"))  # type: ignore[arg-type]
        finish(pool, engine)
        assert engine == homes[t]
