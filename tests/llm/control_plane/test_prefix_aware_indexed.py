"""prefix_aware decides the same on an indexed EnginePool (its C-speed path) as on a list.

Two copies of the policy see the same random traffic, one through a plain engine list
(the per-engine scan), the other through an :class:`EnginePool`; every dispatch must
match, across capacities, load weights (0 included), evictions, dead engines, precise
reports and pools where the fast path must step aside (mixed capacities).
"""

from __future__ import annotations

import random

import pytest

from sage.llm.control_plane.policies.prefix_aware import BlockIndex, PrefixAwarePolicy
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import EngineState, Request, RequestKind


def _engines(n: int, caps: list[int]) -> list[EngineState]:
    return [
        EngineState(f"e{i}", frozenset({"llm"}), frozenset({"m"}), caps[i % len(caps)])
        for i in range(n)
    ]


def _prefixes(rng: random.Random, count: int) -> list[tuple[int, ...]]:
    """Hash chains; some share their first blocks (a session's turns, a common head)."""
    out: list[tuple[int, ...]] = []
    for k in range(count):
        if out and rng.random() < 0.4:
            base = rng.choice(out)
            cut = rng.randint(1, len(base))
            out.append(base[:cut] + tuple(10_000 * k + b for b in range(rng.randint(0, 4))))
        else:
            out.append(tuple(10_000 * k + b for b in range(rng.randint(1, 12))))
    return out


def _step(policy: PrefixAwarePolicy, engines: list[EngineState] | EnginePool, now: float) -> list:
    placed = policy.schedule(engines, now)
    for dispatch in placed:
        next(e for e in engines if e.id == dispatch.engine_id).in_flight += 1
    return [(d.engine_id, d.requests[0].id) for d in placed]


@pytest.mark.parametrize(
    ("seed", "caps", "options"),
    [
        (0, [1], {}),
        (1, [2], {"load_weight": 0.0}),
        (2, [3], {"balance_abs": 0, "balance_rel": 1.0}),
        (3, [1], {"max_blocks": 6, "hold_blocks": 1}),
        (4, [2], {"source": "precise"}),
        (5, [1, 2], {}),  # mixed capacities: the scan decides on both
        (6, [4], {"load_weight": 3.0, "hold_s": 0.0}),
    ],
)
def test_pool_and_list_place_alike(seed: int, caps: list[int], options: dict) -> None:
    rng = random.Random(seed)
    n = rng.choice([2, 5, 12])
    plain, pooled = PrefixAwarePolicy(**options), PrefixAwarePolicy(**options)
    a, b = _engines(n, caps), EnginePool(_engines(n, caps))
    prefixes = _prefixes(rng, 10)
    now, decisions = 0.0, 0
    for i in range(600):
        now += rng.random() * 0.3
        roll = rng.random()
        if roll < 0.5:
            hashes = rng.choice(prefixes) if rng.random() < 0.9 else ()
            for policy in (plain, pooled):
                policy.enqueue(Request(f"r{i}", RequestKind.CHAT, "m", arrival=now,
                                       prefix_hashes=hashes), now)  # fmt: skip
        elif roll < 0.8:
            busy = [k for k, e in enumerate(a) if e.in_flight]
            if busy:
                k = rng.choice(busy)
                a[k].in_flight -= 1
                b[k].in_flight -= 1
        elif roll < 0.85:
            k = rng.randrange(n)
            a[k].healthy = b[k].healthy = not a[k].healthy
        elif roll < 0.9 and options.get("source") == "precise":
            k, report = rng.randrange(n), rng.choice(prefixes)
            plain.observe(f"e{k}", report)
            pooled.observe(f"e{k}", report)
        got_a, got_b = _step(plain, a, now), _step(pooled, b, now)
        assert got_a == got_b, f"step {i}"
        decisions += len(got_a)
        assert plain.next_wakeup(now) == pooled.next_wakeup(now)
    assert decisions > 50
    assert plain.describe() == pooled.describe()


def test_block_index_match_memo_follows_changes() -> None:
    index, chain = BlockIndex(4), (1, 2, 3)
    assert index.match(chain) == 0
    index.add(chain)
    assert index.match(chain) == 3
    index.add((7, 8))  # evicts 1 and 2
    assert index.match(chain) == 0
    index.replace([1, 2])
    assert index.match(chain) == 2


def test_block_index_firsts_follow_adds_and_evictions() -> None:
    """``firsts`` holds exactly the indexed blocks that were a prompt's first block, until
    a report sets the blocks (then which are first blocks is unknown: ``None``)."""
    rng, index = random.Random(3), BlockIndex(40)
    prompts = _prefixes(rng, 200)
    starts = {p[0] for p in prompts}
    for prompt in prompts:
        index.add(prompt)
        assert index.firsts is not None
        assert set(index.firsts) == {b for b in index.blocks if b in starts}
    index.apply([5], [])
    assert index.firsts is None
    fresh = BlockIndex(8)
    fresh.replace([1, 2])
    assert fresh.firsts is None
