"""Shipped shared-prefix and multi-turn workloads: prefixes, sessions, oracle hit rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sage.benchmark.serving.prefixes import oracle_of, prefix_text, with_prefix
from sage.benchmark.serving.trace import load_trace
from sage.benchmark.serving.workload import WorkloadSpec, generate, shipped_workloads


def test_shipped_by_name() -> None:
    assert {"default", "shared-prefix", "multi-turn"} <= set(shipped_workloads())
    assert WorkloadSpec.load("shared-prefix").name == "shared-prefix"


def test_shared_prefix_gives_each_tenant_its_own_long_prefix() -> None:
    w = generate(WorkloadSpec.load("shared-prefix"), 2.0, n=200, seed=1)
    assert w.prefix is not None and w.prefix_tokens is not None
    ids = {int(t): set(w.prefix[w.tenant == t].tolist()) for t in np.unique(w.tenant)}
    assert len(ids) >= 8 and all(len(v) == 1 for v in ids.values())
    assert w.prefix_tokens.min() >= 1000 and w.prefix_tokens.max() <= 2000
    assert 0.9 < oracle_of(w) < 1.0  # type: ignore[operator]
    sent = with_prefix(w, 0, "a question")
    assert isinstance(sent, list) and sent[0]["role"] == "system"


def test_multi_turn_history_grows_by_the_previous_turn() -> None:
    w = generate(WorkloadSpec.load("multi-turn"), 4.0, n=300, seed=2)
    assert w.prefix is not None and w.prefix_tokens is not None
    assert len(set(w.prefix.tolist())) >= 32
    session = w.prefix == w.prefix[0]
    rows = np.flatnonzero(session)
    grown = w.prefix_tokens[rows[1:]] - w.prefix_tokens[rows[:-1]]
    expected = w.prompt_tokens[rows[:-1]] + w.output_tokens[rows[:-1]]
    assert (grown == expected).all()
    assert w.select(session).prefix_tokens.tolist() == w.prefix_tokens[rows].tolist()  # type: ignore[union-attr]


def test_a_longer_prefix_extends_a_shorter_one_and_no_prefix_is_plain() -> None:
    assert prefix_text(7, 300).startswith(prefix_text(7, 100))
    w = generate(WorkloadSpec.default(), 2.0, n=20, seed=0)
    assert w.prefix is None and oracle_of(w) is None
    assert with_prefix(w, 0, "q") == "q"


def test_trace_replay_keeps_prefix_ids(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text(
        '{"timestamp": 1.0, "kind": "chat", "prompt_tokens": 20, "prefix": 3, "prefix_tokens": 900}\n'
        '{"timestamp": 0.0, "kind": "chat", "prompt_tokens": 10, "prefix": 3, "prefix_tokens": 800}\n'
    )
    w = load_trace(trace)
    assert w.prefix is not None and w.prefix.tolist() == [3, 3]
    assert w.prefix_tokens.tolist() == [800, 900]  # type: ignore[union-attr]


def test_oracle_after_a_warm_up_counts_only_the_measured_rows() -> None:
    from sage.benchmark.serving.prefixes import oracle_hit_rate

    prefix, plen = np.array([1, 1, 1]), np.array([100, 100, 100])
    prompt, output = np.array([10, 10, 10]), np.array([5, 5, 5])
    assert oracle_hit_rate(prefix, plen, prompt, output) == 200 / 330  # the first is cold
    warm = oracle_hit_rate(prefix, plen, prompt, output, np.array([False, True, True]))
    assert warm == 200 / 220  # the cold one warmed the cache up, unmeasured
