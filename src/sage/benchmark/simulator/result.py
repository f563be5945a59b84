"""What a simulated run returns, in the shape the live serving benchmark records.

Apart from the event loop (:mod:`.core`) so that readers of results (the speed check,
validation, the suite, tests' fixtures) need not know how a run is driven; the
:class:`Outcomes` arrays are the very ones ``sage bench serve`` summarizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sage.benchmark.serving.metrics import OK, Outcomes
from sage.benchmark.serving.workload import Workload


@dataclass
class SimResult:
    """A simulated run: per-request outcomes, their summary and how long it took."""

    baseline: str
    outcomes: Outcomes
    summary: dict[str, Any]
    duration_s: float  # simulated: first arrival to last completion
    wall_s: float
    events: int
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.outcomes)


def outcomes_of(
    w: Workload,
    outcome_of: Sequence[int],
    ttft_of: Sequence[float],
    e2e_of: Sequence[float],
    input_tokens: np.ndarray,
    cached: Sequence[int] | None,
) -> Outcomes:
    """Per-row outcomes (``cached``: prompt tokens found cached, None without prefixes)."""
    outcome = np.asarray(outcome_of, dtype=np.int8)
    ok = outcome == OK
    ttft = np.asarray(ttft_of, dtype=np.float64)
    e2e = np.asarray(e2e_of, dtype=np.float64)
    out = np.where(ok, w.output_tokens, 0).astype(np.int64)
    result = Outcomes(
        kind=w.kind,
        tenant=w.tenant,
        tenants=list(w.tenants),
        outcome=outcome,
        ttft=ttft,
        e2e=e2e,
        output_tokens=out,
        input_tokens=np.where(ok, input_tokens, 0).astype(np.int64),
        itl=np.zeros(0),
        itl_owner=np.zeros(0, dtype=np.int64),
        cached_tokens=None if cached is None else np.asarray(cached),
    )
    tpot = result.tpot
    owners = np.flatnonzero(~np.isnan(tpot))
    result.itl = tpot[owners]
    result.itl_owner = owners
    result.itl_weight = (out[owners] - 1).astype(np.float64)
    return result
