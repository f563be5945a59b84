"""A real run's requests as the simulator replays them (``--validate``).

Everything comes from the run's own records and configuration: send times, the prompt
tokens the engines counted and the tokens they generated, the replicas and slots, each
engine's prefix-cache budget, and what a prompt shares with earlier ones as the engines
saw it:

* a tenant's system prompt is reusable up to the tokens an engine reported cached on a
  hit (the template and the question's fixed instruction come with it);
* a multi-turn session ran closed loop, so a turn's reusable prefix is its previous
  turn's prompt and answer as the engine held them (``input + output - 1`` tokens), not
  the planned history the workload drew;
* block hashes (:mod:`~sage.benchmark.simulator.prompt_hashes`) count the characters of
  the texts the benchmark sent (rebuilt from the run's seed), the answers' from their
  token counts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sage.benchmark.serving.metrics import ERROR, OK, Outcomes
from sage.benchmark.serving.prefixes import prefix_text
from sage.benchmark.serving.prompts import chat_prompt
from sage.benchmark.serving.workload import Workload, WorkloadSpec
from sage.benchmark.simulator.cluster import ClusterSpec
from sage.benchmark.simulator.prefix_cache import KV_BYTES_PER_TOKEN
from sage.benchmark.simulator.profiles import LLMProfile
from sage.benchmark.simulator.prompt_hashes import (
    PromptHashes,
    answer_chars,
    blocks_of,
    message_blocks,
    question_chars,
    system_chars,
)
from sage.benchmark.simulator.records import cached_prefill_extra, cold_prefill_ratios

ROW_SEED = 1_000_003  # the runner's request seed: seed * ROW_SEED + row
MIN_UNQUEUED = 3
MIN_ANY = 5


@dataclass
class Replay:
    """The run's requests as a workload (rows by send time) and how to read them."""

    workload: Workload
    hashes: PromptHashes | None
    measured: np.ndarray  # rows scheduled after the run's warm-up: what it measured
    order: np.ndarray  # record index of each workload row


def session_tenants(config: dict[str, Any]) -> set[str]:
    """Tenants whose chats were multi-turn sessions (sent closed loop)."""
    try:
        spec = WorkloadSpec.model_validate(config["workload_spec"])
    except (KeyError, ValueError):
        return set()
    return {t.name for t in spec.tenants if t.sessions}


def effective_prefixes(req: dict[str, list[Any]], sessions: set[str]) -> list[int] | None:
    """Per record, the prompt tokens an engine that served the prefix before can reuse
    (``None``: the run shares no prefixes)."""
    prefix, planned = req.get("prefix"), req.get("prefix_tokens")
    if prefix is None or planned is None or not any(p >= 0 for p in prefix):
        return None
    inputs, outputs = req["input_tokens"], req["output_tokens"]
    cached = req.get("cached_tokens") or [None] * len(prefix)
    ok = [o == "ok" for o in req["outcome"]]
    # Tokens reused beyond the planned prefix on a hit (chat template, instruction).
    extra = [c - p for c, p, pid, t, good in zip(cached, planned, prefix, req["tenant"], ok,
                                                 strict=True)
             if good and c is not None and pid >= 0 and t not in sessions and c >= p]  # fmt: skip
    beyond = int(np.median(extra)) if extra else 0
    out: list[int] = []
    held: dict[int, int] = {}  # session -> tokens of its last answered turn's state
    for i, pid in enumerate(prefix):
        used = inputs[i] or 0
        if pid < 0:
            out.append(0)
            continue
        if req["tenant"][i] in sessions:
            tokens = held.get(pid, planned[i])
            if ok[i] and used:
                held[pid] = used + (outputs[i] or 0) - 1  # the state the engine saved
        else:
            tokens = planned[i] + beyond
        out.append(max(0, min(tokens, used - 1)) if used else planned[i])
    return out


def replay_workload(result: dict[str, Any]) -> Workload:
    """The requests of a result file, with the token counts the engines reported."""
    return build_replay(result).workload


def build_replay(result: dict[str, Any]) -> Replay:
    """:class:`Replay` of a result file."""
    req, config = result["requests"], result.get("config", {})
    ok = [o == "ok" for o in req["outcome"]]
    sent = [s if s is not None else t for s, t in zip(req["sent"], req["scheduled"], strict=True)]
    # Chat: the prompt tokens the engine reported (template included); embeddings: the
    # planned tokens per input (the engine's count is shared out when the gateway
    # batches, so it is not per request).
    prompt = [
        (used or planned) if kind == "llm" else planned
        for used, planned, kind in zip(
            req["input_tokens"], req["prompt_tokens"], req["kind"], strict=True
        )
    ]
    outputs = [
        out if good and kind == "llm" else (mt if kind == "llm" else 0)
        for out, mt, good, kind in zip(
            req["output_tokens"], req["max_tokens"], ok, req["kind"], strict=True
        )
    ]
    sessions = session_tenants(config)
    prefix = req.get("prefix")
    reusable = effective_prefixes(req, sessions)
    if reusable is not None:
        prompt = [max(0, p - n) for p, n in zip(prompt, reusable, strict=True)]  # kept apart
    else:
        prefix = None
    workload = Workload.from_rows(
        sent, req["kind"], req["tenant"], prompt, outputs, req["n_inputs"],
        meta={"llm_engine_tokens": True, "replay_of": config.get("baseline")},
        prefix=prefix, prefix_tokens=reusable,
    )  # fmt: skip
    order = np.argsort(np.asarray(sent, dtype=np.float64), kind="stable")
    scheduled = np.asarray(req["scheduled"], dtype=np.float64)[order]
    measured = scheduled >= float(config.get("warmup_s") or 0.0)
    hashes = None
    if prefix is not None and reusable is not None:
        hashes = replay_hashes(req, config.get("seed"), sessions, reusable, order)
    return Replay(workload, hashes, measured, order)


def replay_hashes(
    req: dict[str, list[Any]], seed: int | None, sessions: set[str], reusable: list[int],
    order: np.ndarray,
) -> PromptHashes:  # fmt: skip
    """The gateway's block counts of each chat as the runner sent it: the system prompt's
    and the question's from their real texts when the run's seed is known (else from the
    planned tokens), the answers' from their token counts."""
    n = len(req["kind"])
    planned = req["prompt_tokens"]
    q = blocks_of(question_chars(np.asarray(planned)))
    a = blocks_of(answer_chars(np.asarray([o or 0 for o in req["output_tokens"]])))
    system: dict[int, int] = {}
    for pid, plen in zip(req["prefix"], req["prefix_tokens"], strict=True):
        if pid >= 0 and pid not in system:  # a session's first turn sets its prompt
            chars = (system_chars(plen) if seed is None
                     else len("system\n" + prefix_text(pid, int(plen))))  # fmt: skip
            system[pid] = message_blocks(chars)
    if seed is not None:
        for i in range(n):
            if req["kind"][i] == "llm":
                text = chat_prompt(int(planned[i]), seed * ROW_SEED + i)
                q[i] = message_blocks(len("user\n" + text))
    pick = order.tolist()
    return PromptHashes(
        [req["prefix"][i] for i in pick], [reusable[i] for i in pick],
        q[order].tolist(), a[order].tolist(), system,
    )  # fmt: skip


def replay_cluster(config: dict[str, Any]) -> ClusterSpec:
    """The run's engines (recorded in its config; else one LLM + one embedding engine)
    sharing this host, as in the run: as many LLM replicas (``--llm-replicas``) and
    embedding engines, the embedding ones with the capacity the gateway gave them."""
    engines = config.get("engines") or ()
    llm = sum(e.get("kinds") == ["llm"] for e in engines)
    capacities = [int(e["capacity"]) for e in engines if e.get("kinds") == ["embedding"]]
    if not engines:
        return ClusterSpec(1, 1, colocate=True)
    if capacities:
        return ClusterSpec(max(1, llm), len(capacities), True, capacities[0])
    return ClusterSpec(max(1, llm), 0, colocate=True)


def replay_llm_capacity(config: dict[str, Any]) -> int | None:
    """The slots the gateway gave each LLM engine in the run (``--llm-capacity``)."""
    slots = [int(e["capacity"]) for e in config.get("engines") or () if e.get("kinds") == ["llm"]]
    return max(slots) if slots else None


def replay_cache_tokens(
    config: dict[str, Any], kv_bytes_per_token: int = KV_BYTES_PER_TOKEN,
    default_bytes: int | None = None,
) -> int | None:  # fmt: skip
    """Each engine's prefix-cache budget in tokens: the run's own (recorded per engine
    when the run cleared the caches), else ``default_bytes``; ``None``: neither known."""
    budgets = [int(b) for b in config.get("prefix_cache_budget_bytes") or () if b is not None]
    budget = min(budgets) if budgets else default_bytes
    return None if budget is None else int(budget // kv_bytes_per_token)


def least_queued(unqueued: list[float], every: list[float]) -> float | None:
    """The median of ``unqueued`` (the chats sent with a slot free), or on a run too
    loaded to have ``MIN_UNQUEUED`` of them, the least of ``every`` (its least queued
    chat, ``MIN_ANY`` at least): ``None`` without either."""
    if len(unqueued) >= MIN_UNQUEUED:
        return float(np.median(unqueued))
    return float(min(every)) if len(every) >= MIN_ANY else None


def cold_prefill_speed(req: dict[str, list[Any]], llm: LLMProfile, slots: int) -> float | None:
    """How much faster than ``llm`` the run prefilled a prompt it had not cached
    (:func:`least_queued` of its cold chats' modelled / measured TTFT)."""
    ratio = least_queued(cold_prefill_ratios(req, llm, slots), cold_prefill_ratios(req, llm))
    return None if not ratio else 1.0 / ratio


def prefix_load_s(req: dict[str, list[Any]], llm: LLMProfile, slots: int) -> float | None:
    """What a prefix-cache hit cost beyond ``llm``'s prefill of the uncached rest: the
    median over the run's hits sent with a slot free (``None``: fewer than
    ``MIN_UNQUEUED``; a queued hit's time is mostly its wait)."""
    extra = cached_prefill_extra(req, llm, slots)
    return float(np.median(extra)) if len(extra) >= MIN_UNQUEUED else None


def measured_outcomes(outcomes: Outcomes, rows: np.ndarray) -> Outcomes:
    """The rows of ``outcomes`` the real run measured (its warm-up left out)."""
    index = np.flatnonzero(rows)
    remap = np.full(len(outcomes), -1, dtype=np.int64)
    remap[index] = np.arange(len(index))
    keep = rows[outcomes.itl_owner] if len(outcomes.itl_owner) else np.zeros(0, dtype=bool)
    return Outcomes(
        kind=outcomes.kind[index], tenant=outcomes.tenant[index], tenants=outcomes.tenants,
        outcome=outcomes.outcome[index], ttft=outcomes.ttft[index], e2e=outcomes.e2e[index],
        output_tokens=outcomes.output_tokens[index],
        input_tokens=outcomes.input_tokens[index],
        itl=outcomes.itl[keep], itl_owner=remap[outcomes.itl_owner[keep]],
        itl_weight=None if outcomes.itl_weight is None else outcomes.itl_weight[keep],
        cached_tokens=None if outcomes.cached_tokens is None else outcomes.cached_tokens[index],
    )  # fmt: skip


def unfinished_at(outcomes: Outcomes, sent: np.ndarray, end: float) -> Outcomes:
    """``outcomes`` with the requests still running at ``end`` (the real run's end: its
    last send plus its drain timeout, when the client cancelled what was left) failed,
    as the real run recorded them."""
    late = (outcomes.outcome == OK) & (sent + np.nan_to_num(outcomes.e2e, nan=0.0) > end)
    if not late.any():
        return outcomes
    outcome = outcomes.outcome.copy()
    outcome[late] = ERROR
    nan = np.where(late, np.nan, 1.0)
    cached = outcomes.cached_tokens
    return replace(
        outcomes, outcome=outcome, ttft=outcomes.ttft * nan, e2e=outcomes.e2e * nan,
        input_tokens=np.where(late, 0, outcomes.input_tokens),
        output_tokens=np.where(late, 0, outcomes.output_tokens),
        cached_tokens=None if cached is None else np.where(late, 0, cached),
    )  # fmt: skip
