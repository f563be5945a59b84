"""prefix_aware learns from replies: an engine's reach (approximate mode) and whether
waiting for a busy engine beats prefilling elsewhere."""

from __future__ import annotations

import itertools

import pytest

from sage.llm.control_plane.policies import prefix_knowledge
from sage.llm.control_plane.policies.prefix_aware import PrefixAwarePolicy
from sage.llm.control_plane.policies.prefix_index import MIN_REACH, BlockIndex
from sage.llm.control_plane.types import EngineState, Request, RequestKind
from sage.llm.control_plane.usage import cache_usage
from sage.llm.prefix_hash import prompt_block_hashes

_ids = itertools.count()


def request(tenant: str, question: str = "q", now: float = 0.0, **kw: int) -> Request:
    system = f"You are the assistant of {tenant}. " * 40  # ~1.4k characters: 6 blocks
    hashes = prompt_block_hashes([{"role": "system", "content": system},
                                  {"role": "user", "content": question}])  # fmt: skip
    return Request(f"r{next(_ids)}", RequestKind.CHAT, "m", arrival=now, prefix_hashes=hashes, **kw)


def engines(capacity: int = 1, **speeds: float) -> list[EngineState]:
    return [EngineState(f"e{i}", frozenset({"llm"}), frozenset({"m"}), capacity, **speeds)
            for i in range(2)]  # fmt: skip


def run(policy: PrefixAwarePolicy, pool: list[EngineState], req: Request, now: float = 0.0) -> str:
    policy.enqueue(req, now)
    (dispatch,) = policy.schedule(pool, now)
    next(e for e in pool if e.id == dispatch.engine_id).in_flight += 1
    return dispatch.engine_id


def answer(policy: PrefixAwarePolicy, pool: list[EngineState], req: Request, engine: str,
           cached: int | None, prompt: int = 100) -> None:  # fmt: skip
    req.reply_cache = None if cached is None else (cached, prompt)
    next(e for e in pool if e.id == engine).in_flight -= 1
    policy.on_complete(req, engine, 0.0, True)


def test_cache_usage_is_read_from_replies_and_stream_chunks() -> None:
    body = b'{"choices":[],"usage":{"prompt_tokens":120,"completion_tokens":9,' \
           b'"prompt_tokens_details":{"cached_tokens":96}}}'  # fmt: skip
    assert cache_usage(body) == (96, 120)
    assert cache_usage(b'data: {"usage": {"prompt_tokens": 7, "prompt_tokens_details": '
                       b'{"cached_tokens": 0}}}\n\n') == (0, 7)  # fmt: skip
    assert cache_usage(b'{"usage":{"prompt_tokens":5,"completion_tokens":1}}') is None


def test_a_miss_teaches_the_reach_and_a_hit_beyond_it_widens_it() -> None:
    index = BlockIndex(1000)
    chain = tuple(range(100, 110))
    index.add(chain)
    for i in range(50):  # 50 other prompts of 4 blocks: chain is 200 touches old
        index.add(tuple(range(1000 + 4 * i, 1004 + 4 * i)))
    assert index.held(chain, 10) == 10  # nothing learned: everything indexed counts
    index.learn(age=40, hit=False)
    assert index.reach == 40 and index.held(chain, 10) == 0
    index.learn(age=10, hit=False)  # one miss at most halves it
    assert index.reach == 20
    index.learn(age=5, hit=False)
    assert index.reach == MIN_REACH
    index.learn(age=300, hit=True)
    assert index.reach == 300 and index.held(chain, 10) == 10


def test_held_is_the_part_of_a_chain_within_reach() -> None:
    index = BlockIndex(1000)
    index.add((1, 2, 3, 4, 5, 6))  # a session's history
    index.add((1, 2, 3))  # its shorter prefix touched again later
    index.add(tuple(range(50, 60)))
    index.learn(age=14, hit=False)  # reach: 14 touches
    assert index.held((1, 2, 3, 4, 5, 6), 6) == 3


def test_approximate_mode_stops_waiting_for_an_engine_that_dropped_the_prefix() -> None:
    def scenario(reply_cached: int | None) -> list:
        policy, pool = PrefixAwarePolicy(hold_s=5.0), engines()
        first = request("acme")
        home = run(policy, pool, first)
        answer(policy, pool, first, home, cached=0)  # a cold start: nothing to learn
        second = request("acme", "again")
        assert run(policy, pool, second) == home
        answer(policy, pool, second, home, cached=reply_cached)  # 0: it had dropped acme
        for t in ("b", "c", "d"):  # other prompts went there since
            policy._index_of(home).add(request(t).prefix_hashes)
        assert run(policy, pool, request("b")) == home  # home is busy now
        policy.enqueue(request("acme", "and again"), 1.0)
        return [d.engine_id for d in policy.schedule(pool, 1.0)]

    assert scenario(reply_cached=None) == []  # no usage reported: waits for home
    assert scenario(reply_cached=100) == []  # home had it: waits for home
    assert scenario(reply_cached=0) == ["e1"]  # home had dropped it: no use waiting


def test_waits_for_a_busy_engine_only_while_that_beats_a_cold_prefill() -> None:
    # 1,500-token prompts, 100 tok/s prefill: prefilling the prefix elsewhere takes ~13 s,
    # a 16-token reply at 20 tok/s 0.8 s: several may wait for the cached engine.
    policy = PrefixAwarePolicy(hold_s=60.0)
    pool = engines(decode_tokens_per_s=20.0, prefill_tokens_per_s=100.0)
    kw = {"prompt_tokens": 1500, "max_tokens": 16}
    home = run(policy, pool, request("acme", **kw))
    for i in range(3):
        policy.enqueue(request("acme", str(i), **kw), 0.0)
    assert policy.schedule(pool, 0.0) == []  # all three wait
    # Long replies (2,000 tokens: 100 s each): waiting behind one costs more than prefilling.
    slow = PrefixAwarePolicy(hold_s=60.0)
    pool = engines(decode_tokens_per_s=20.0, prefill_tokens_per_s=100.0)
    long = {"prompt_tokens": 1500, "max_tokens": 2000}
    home = run(slow, pool, request("acme", **long))
    slow.enqueue(request("acme", "again", **long), 0.0)
    (dispatch,) = slow.schedule(pool, 0.0)
    assert dispatch.engine_id != home


def test_a_prefix_cached_nowhere_goes_back_to_its_last_engine() -> None:
    """Evicted everywhere, a session's next turn still goes home (if home has room): each
    engine keeps its share of the sessions instead of every engine seeing all of them."""
    from sage.llm.control_plane.pool import EnginePool

    for pool in (engines(capacity=2), EnginePool(engines(capacity=2))):
        policy = PrefixAwarePolicy(source="precise")
        home = run(policy, pool, request("acme"))  # home: one of two slots busy from now on
        policy._unreported.clear()  # stored and reported long ago...
        for engine in ("e0", "e1"):
            policy.observe(engine, [])  # ...and evicted everywhere since
        fresh = PrefixAwarePolicy(source="precise")  # no history: by load alone
        fresh.enqueue(request("acme", "again"), 0.0)
        assert fresh.schedule(pool, 0.0)[0].engine_id != home
        assert run(policy, pool, request("acme", "later")) == home  # not the idle one


def test_hybrid_hands_replies_to_its_prefix_placement() -> None:
    from sage.llm.control_plane.policies import get_policy

    policy, pool = get_policy("hybrid"), engines()
    req = request("acme")
    policy.enqueue(req, 0.0)
    (dispatch,) = policy.schedule(pool, 0.0)
    assert req.id in policy.prefix._sent  # type: ignore[attr-defined]
    req.reply_cache = (0, 100)
    policy.on_complete(req, dispatch.engine_id, 0.1, True)
    assert req.id not in policy.prefix._sent  # type: ignore[attr-defined]


def test_sends_whose_replies_never_came_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefix_knowledge, "EXPECTED", 2)
    policy, pool = PrefixAwarePolicy(), engines(capacity=8)
    for tenant in "abcd":
        run(policy, pool, request(tenant))
    assert len(policy._sent) == 2  # the oldest two were dropped, their sends answered
    assert sum(len(i._sending) for i in policy.index.values()) <= 2


def test_what_the_policy_remembers_per_prefix_stays_bounded() -> None:
    """A gateway serving endless distinct prompts keeps bounded memory per policy."""
    policy, pool = PrefixAwarePolicy(max_blocks=8), engines(capacity=64)
    for i in range(40):
        req = request(f"tenant {i}")
        engine = run(policy, pool, req)
        answer(policy, pool, req, engine, cached=0)
    assert len(policy._added) <= 8 and len(policy._home) <= 8
    assert all(len(index.blocks) <= 8 for index in policy.index.values())
    assert not policy._sent
