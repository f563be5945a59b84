"""Serving metrics over per-request outcomes, with vLLM's benchmark_serving definitions.

* TTFT: send to first streamed token (first chunk with content).
* TPOT: ``(e2e - ttft) / (output_tokens - 1)`` for requests with more than one token.
* ITL: every gap between consecutive streamed tokens, pooled over requests.
* E2E: send to last byte. Embeddings have only E2E.
* Throughput: completed requests (and tokens) per second of benchmark duration (first
  send to last completion); goodput: requests per second that met every SLO.
* SLO attainment: requests that met every SLO divided by requests *sent*: a rejected
  (429) or failed request is a miss, so refusing work never looks like attainment.
* Interference: a tenant's p99 with a noisy neighbour divided by its p99 alone.

Percentiles use ``numpy.percentile`` (linear interpolation, as vLLM). Everything is
vectorised so a simulated million requests summarises in well under a second.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sage.benchmark.serving.workload import KIND_EMBEDDING, KIND_LLM, KIND_NAMES, SLO

OK, REJECTED, ERROR = 0, 1, 2
OUTCOME_NAMES = ("ok", "rejected", "error")
PERCENTILES = (50, 95, 99)


@dataclass
class Outcomes:
    """What happened to each request (one row per request sent), column by column.

    Times are seconds; ``nan`` where a value does not exist (failed request, embedding
    TTFT). ``itl`` pools inter-token gaps; ``itl_owner`` is the row each gap belongs to
    and ``itl_weight`` (simulation) how many identical gaps an entry stands for.
    """

    kind: np.ndarray
    tenant: np.ndarray
    tenants: list[str]
    outcome: np.ndarray
    ttft: np.ndarray
    e2e: np.ndarray
    output_tokens: np.ndarray
    input_tokens: np.ndarray
    itl: np.ndarray
    itl_owner: np.ndarray
    itl_weight: np.ndarray | None = None
    cached_tokens: np.ndarray | None = None  # prompt tokens the engine's prefix cache held

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    @property
    def tpot(self) -> np.ndarray:
        """Per-request TPOT (nan unless an LLM request finished with > 1 token)."""
        out = np.full(len(self), np.nan)
        mask = (self.outcome == OK) & (self.kind == KIND_LLM) & (self.output_tokens > 1)
        out[mask] = (self.e2e[mask] - self.ttft[mask]) / (self.output_tokens[mask] - 1)
        return out


def stats_ms(values: np.ndarray, weights: np.ndarray | None = None) -> dict[str, Any]:
    """mean, p50, p95, p99 and max in milliseconds (``None`` when there are no values)."""
    values = values[~np.isnan(values)] if values.size else values
    if weights is not None and values.size != weights.size:
        raise ValueError("weights must match values")
    n = int(values.size if weights is None else weights.sum())
    if not values.size or n == 0:
        return {"n": 0, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}
    if weights is None:
        pcts = np.percentile(values, PERCENTILES)
        mean = float(values.mean())
    else:
        pcts = _weighted_percentiles(values, weights)
        mean = float(np.average(values, weights=weights))
    out = {"n": n, "mean": mean * 1000}
    out.update({f"p{p}": float(v) * 1000 for p, v in zip(PERCENTILES, pcts, strict=True)})
    out["max"] = float(values.max()) * 1000
    return out


def _weighted_percentiles(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    try:
        return np.percentile(values, PERCENTILES, weights=weights, method="inverted_cdf")
    except TypeError:  # numpy < 2.0 has no weights: expand (fine for modest sizes)
        return np.percentile(np.repeat(values, weights.astype(np.int64)), PERCENTILES)


def slo_thresholds(
    outcomes: Outcomes, slos: Mapping[tuple[str, int], SLO]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row TTFT, TPOT and E2E limits in seconds (``inf`` = not checked)."""
    n = len(outcomes)
    limits = [np.full(n, np.inf) for _ in range(3)]
    for (tenant, kind), slo in slos.items():
        if tenant not in outcomes.tenants:
            continue
        rows = (outcomes.tenant == outcomes.tenants.index(tenant)) & (outcomes.kind == kind)
        for array, ms in zip(limits, (slo.ttft_ms, slo.tpot_ms, slo.e2e_ms), strict=True):
            if ms is not None:
                array[rows] = ms / 1000.0
    return limits[0], limits[1], limits[2]


def slo_met(outcomes: Outcomes, slos: Mapping[tuple[str, int], SLO]) -> np.ndarray:
    """True per row for a request that completed and met all of its SLOs."""
    ttft_max, tpot_max, e2e_max = slo_thresholds(outcomes, slos)
    ok = outcomes.outcome == OK
    with np.errstate(invalid="ignore"):
        ttft_ok = np.isnan(outcomes.ttft) | (outcomes.ttft <= ttft_max)
        tpot = outcomes.tpot
        tpot_ok = np.isnan(tpot) | (tpot <= tpot_max)
        e2e_ok = outcomes.e2e <= e2e_max
    return ok & ttft_ok & tpot_ok & e2e_ok


def group_summary(
    outcomes: Outcomes, rows: np.ndarray, met: np.ndarray, duration_s: float
) -> dict[str, Any]:
    """Counts, throughput, goodput, attainment and latency stats of the rows in ``rows``."""
    outcome = outcomes.outcome[rows]
    ok_rows = rows & (outcomes.outcome == OK)
    sent = int(rows.sum())
    n_ok = int((outcome == OK).sum())
    n_met = int((met & rows).sum())
    per_s = 1.0 / duration_s if duration_s > 0 else 0.0
    out_tokens = int(outcomes.output_tokens[ok_rows].sum())
    in_tokens = int(outcomes.input_tokens[ok_rows].sum())
    owner_rows = ok_rows[outcomes.itl_owner] if outcomes.itl.size else np.zeros(0, bool)
    weights = None if outcomes.itl_weight is None else outcomes.itl_weight[owner_rows]
    return {
        "sent": sent,
        "ok": n_ok,
        "rejected": int((outcome == REJECTED).sum()),
        "errors": int((outcome == ERROR).sum()),
        "slo_met": n_met,
        "slo_attainment": n_met / sent if sent else None,
        "request_throughput": n_ok * per_s,
        "goodput": n_met * per_s,
        "output_token_throughput": out_tokens * per_s,
        "total_token_throughput": (out_tokens + in_tokens) * per_s,
        "ttft_ms": stats_ms(outcomes.ttft[ok_rows & (outcomes.kind == KIND_LLM)]),
        "tpot_ms": stats_ms(outcomes.tpot[ok_rows]),
        "itl_ms": stats_ms(outcomes.itl[owner_rows], weights),
        "e2e_ms": stats_ms(outcomes.e2e[ok_rows]),
        **_prefix_hits(outcomes, ok_rows & (outcomes.kind == KIND_LLM)),
    }


def _prefix_hits(outcomes: Outcomes, rows: np.ndarray) -> dict[str, Any]:
    """``prefix_hit_rate``: cached over prompt tokens of the answered chats (if known)."""
    if outcomes.cached_tokens is None:
        return {}
    prompt = int(outcomes.input_tokens[rows].sum())
    cached = int(outcomes.cached_tokens[rows].sum())
    return {"cached_tokens": cached, "prefix_hit_rate": cached / prompt if prompt else None}


def summarize(
    outcomes: Outcomes, slos: Mapping[tuple[str, int], SLO], duration_s: float
) -> dict[str, Any]:
    """The full summary: overall, per kind, per tenant and per tenant and kind."""
    met = slo_met(outcomes, slos)
    everything = np.ones(len(outcomes), dtype=bool)
    summary: dict[str, Any] = {
        "duration_s": duration_s,
        "overall": group_summary(outcomes, everything, met, duration_s),
        "by_kind": {},
        "by_tenant": {},
    }
    for kind in (KIND_LLM, KIND_EMBEDDING):
        rows = outcomes.kind == kind
        if rows.any():
            summary["by_kind"][KIND_NAMES[kind]] = group_summary(outcomes, rows, met, duration_s)
    for index, tenant in enumerate(outcomes.tenants):
        rows = outcomes.tenant == index
        if not rows.any():
            continue
        entry = group_summary(outcomes, rows, met, duration_s)
        entry["by_kind"] = {
            KIND_NAMES[k]: group_summary(outcomes, rows & (outcomes.kind == k), met, duration_s)
            for k in (KIND_LLM, KIND_EMBEDDING)
            if (rows & (outcomes.kind == k)).any()
        }
        summary["by_tenant"][tenant] = entry
    return summary


def interference(p99_with_neighbour: float | None, p99_alone: float | None) -> float | None:
    """How many times worse a tenant's p99 gets with a noisy neighbour (1.0 = unaffected)."""
    if p99_with_neighbour is None or not p99_alone or math.isnan(p99_alone):
        return None
    return p99_with_neighbour / p99_alone


def check_consistency(summary: dict[str, Any]) -> list[str]:
    """Invariants every summary must satisfy; returns the violations (empty when sound)."""
    problems: list[str] = []

    def visit(name: str, group: dict[str, Any]) -> None:
        if group["ok"] + group["rejected"] + group["errors"] != group["sent"]:
            problems.append(f"{name}: ok + rejected + errors != sent")
        for metric in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
            s = group[metric]
            if s["n"] and not (s["p50"] <= s["p95"] <= s["p99"] <= s["max"] + 1e-9):
                problems.append(f"{name}.{metric}: percentiles out of order")
        for sub, value in group.get("by_kind", {}).items():
            visit(f"{name}.{sub}", value)

    visit("overall", summary["overall"])
    for kind, group in summary["by_kind"].items():
        visit(kind, group)
    for tenant, group in summary["by_tenant"].items():
        visit(tenant, group)
    return problems
