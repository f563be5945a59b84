"""Simulator test helpers: idealised engine models and hand-built workloads."""

from __future__ import annotations

import numpy as np

from sage.benchmark.serving.workload import KIND_LLM, Workload
from sage.benchmark.simulator.profiles import (
    Calibration,
    Contention,
    EmbeddingProfile,
    LLMProfile,
)


def ideal_calibration(
    decode_tokens_per_s: float = 1000.0, contention: Contention | None = None
) -> Calibration:
    """Instant prefill, ``decode_tokens_per_s``, no gateway hop: service = tokens / rate."""
    return Calibration(
        llm=LLMProfile(prefill_tokens_per_s=1e12, decode_tokens_per_s=decode_tokens_per_s),
        embedding=EmbeddingProfile(fixed_s=0.5, per_item_s=0.0, per_token_s=0.0, batch_wait_s=0),
        contention=contention or Contention(),
        gateway_overhead_s=0.0,
    )


def make_workload(
    t: list[float] | np.ndarray,
    kinds: list[int] | np.ndarray | None = None,
    tenants: list[int] | np.ndarray | None = None,
    out: list[int] | np.ndarray | None = None,
    names: list[str] | None = None,
    n_inputs: list[int] | np.ndarray | None = None,
) -> Workload:
    n = len(t)
    return Workload(
        np.asarray(t, dtype=np.float64),
        np.asarray(kinds if kinds is not None else [KIND_LLM] * n, dtype=np.int8),
        np.asarray(tenants if tenants is not None else [0] * n, dtype=np.int16),
        np.zeros(n, dtype=np.int32),
        np.asarray(out if out is not None else [1] * n, dtype=np.int32),
        np.asarray(n_inputs if n_inputs is not None else [1] * n, dtype=np.int32),
        names or ["t0"],
    )
