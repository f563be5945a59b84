"""Replaying prefix-cache runs: the gateway's block counts, the run's cache budget, the
closed-loop sessions' reusable prefixes, and prefill speed from uncached tokens only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sage.benchmark.serving.prefixes import prefix_text, with_prefix
from sage.benchmark.serving.prompts import chat_prompt
from sage.benchmark.serving.workload import WorkloadSpec, generate
from sage.benchmark.simulator.profiles import Calibration
from sage.benchmark.simulator.prompt_hashes import PromptHashes
from sage.benchmark.simulator.replay import effective_prefixes, replay_hashes
from sage.benchmark.simulator.validate import (
    HIT_RATE,
    CacheModel,
    run_llm_speed,
    validate_run,
)
from sage.llm.prefix_hash import prompt_block_hashes
from tests.benchmark.simulator.test_validate_prefix import write_prefix_run


def test_stand_ins_count_the_gateways_blocks_for_a_known_prompt() -> None:
    """A 300-token system prompt is 6 gateway blocks plus 1 for the question (not
    300 // 64 = 4): the stand-ins count the same."""
    w = generate(WorkloadSpec.load("shared-prefix-small"), 0.6, n=60, seed=0)
    assert w.prefix is not None and w.prefix_tokens is not None
    hashes = PromptHashes.of_workload(w)
    assert hashes is not None
    for row in range(len(w)):
        prompt = with_prefix(w, row, chat_prompt(int(w.prompt_tokens[row]), row))
        assert len(hashes.of(row)) == len(prompt_block_hashes(prompt))
    known = [{"role": "system", "content": prefix_text(5, 300)},
             {"role": "user", "content": chat_prompt(16, 0)}]  # fmt: skip
    one = PromptHashes([5], [300], [1], [1])
    assert len(one.of(0)) == len(prompt_block_hashes(known)) == 7


def test_a_sessions_turn_extends_its_previous_prompt_and_answer() -> None:
    # two turns of session 9, then another tenant's prompt; answers 1 block each
    hashes = PromptHashes([9, 9, 4], [60, 120, 300], [1, 1, 1], [1, 1, 1])
    first, second, other = hashes.of(0), hashes.of(1), hashes.of(2)
    assert second[: len(first)] == first and len(second) == len(first) + 2  # + answer, question
    assert not set(other) & set(second)


def test_replayed_blocks_are_the_real_texts() -> None:
    seed, pid, plen, tokens = 3, 7 << 20, 320, [14, 22]
    req: dict[str, Any] = {
        "kind": ["llm", "llm"], "prefix": [pid, pid], "prefix_tokens": [plen, plen],
        "prompt_tokens": tokens, "output_tokens": [9, 12],
    }  # fmt: skip
    hashes = replay_hashes(req, seed, set(), [plen, plen], np.arange(2))
    for row in range(2):
        prompt = [{"role": "system", "content": prefix_text(pid, plen)},
                  {"role": "user", "content": chat_prompt(tokens[row], seed * 1_000_003 + row)}]  # fmt: skip
        assert len(hashes.of(row)) == len(prompt_block_hashes(prompt))


def test_a_closed_loop_turn_reuses_its_previous_turn_as_the_engine_held_it() -> None:
    req = {
        "prefix": [1, 1, 1, 2], "prefix_tokens": [60, 95, 130, 300], "tenant": ["a"] * 3 + ["b"],
        "input_tokens": [92, 133, 164, 330], "output_tokens": [16, 9, 9, 10],
        "cached_tokens": [0, 3, 141, 317], "outcome": ["ok"] * 4,
    }  # fmt: skip
    # session turns: the previous prompt + answer - 1; tenant b: planned + what hits showed
    assert effective_prefixes(req, {"a"}) == [60, 107, 141, 317]


def test_validate_uses_the_runs_cache_budget(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    write_prefix_run(path, "unified/prefix_aware", {})
    run = json.loads(path.read_text())
    assert CacheModel().tokens({"prefix_cache_budget_bytes": [48 << 20] * 2}) == 2184
    hits = {}
    for budget in (None, [1 << 20, 1 << 20]):  # the default 256 MB, then 1 MB: 45 tokens
        run["config"]["prefix_cache_budget_bytes"] = budget
        path.write_text(json.dumps(run))
        (row,) = [r for r in validate_run(path, Calibration.load()).rows if r.metric == HIT_RATE]
        hits[str(budget)] = row.sim_ms
    assert hits["None"] > 0.5 and hits[str([1 << 20, 1 << 20])] == 0.0


def test_own_prefill_speed_counts_only_uncached_tokens() -> None:
    """Cold chats prefilled at half the calibrated speed; cached ones took 0.1 s for a
    few uncached tokens. Counting their cached tokens as prefilled made them look fast."""
    cal = Calibration.load()
    llm = cal.llm
    rows: dict[str, list[Any]] = {k: [] for k in ("kind", "outcome", "sent", "ttft", "e2e",
                                                 "input_tokens", "cached_tokens", "itl")}  # fmt: skip
    for i in range(12):
        cached = 0 if i % 2 else 300
        ttft = llm.ttft_s(330) / 0.5 if not cached else 0.1
        rows["kind"].append("llm")
        rows["outcome"].append("ok")
        rows["sent"].append(100.0 * i)  # far apart: none queued
        rows["ttft"].append(ttft)
        rows["e2e"].append(ttft + 1.0)
        rows["input_tokens"].append(330)
        rows["cached_tokens"].append(cached)
        rows["itl"].append([1.0 / llm.decode_tokens_per_s] * 8)
    result = {"config": {"engines": [{"kinds": ["llm"], "capacity": 1}]}, "requests": rows}
    decode, prefill = run_llm_speed(result, cal)
    assert decode == pytest.approx(1.0) and prefill == pytest.approx(0.5)


def test_validate_command_lists_prefix_runs_real_and_simulated(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sage.cli.main import app

    write_prefix_run(tmp_path / "run.json", "unified/prefix_aware", {})
    args = ["bench", "simulate", "--validate", str(tmp_path / "run.json"), "--prefix-cache-mb", "48"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "prefix-cache runs: real / simulated" in result.output
