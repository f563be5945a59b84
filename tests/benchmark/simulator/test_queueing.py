"""The simulator against closed-form queueing results: one engine of capacity 1 under
the fifo policy is an M/G/1 queue. Fixed seeds; tolerances of a few standard errors."""

from __future__ import annotations

import numpy as np
import pytest

from sage.benchmark.simulator.cluster import ClusterSpec
from sage.benchmark.simulator.core import simulate
from tests.benchmark.simulator.helpers import ideal_calibration, make_workload

N = 100_000
LAMBDA = 0.6  # arrivals per second; mean service 1 s, so utilisation 0.6
DECODE = 1000.0  # tokens per second: service = (tokens - 1) / 1000 s


def poisson_times(seed: int) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).exponential(1 / LAMBDA, N))


def one_engine() -> ClusterSpec:
    return ClusterSpec(llm_engines=1, embedding_engines=0, colocate=False)


def test_mm1_mean_sojourn() -> None:
    # Output tokens - 1 geometric with mean 1000: service ~ exponential, mean 1 s.
    tokens = np.random.default_rng(11).geometric(1 / 1001, N)
    result = simulate(
        make_workload(poisson_times(1), out=tokens), ideal_calibration(DECODE), one_engine(),
        "fifo",
    )  # fmt: skip
    service = 1e-4 + 1000 / DECODE  # the model's 0.1 ms floor on TTFT, plus decoding
    mu = 1 / service
    assert result.outcomes.e2e.mean() == pytest.approx(1 / (mu - LAMBDA), rel=0.05)
    assert result.summary["overall"]["ok"] == N


def test_md1_mean_wait_pollaczek_khinchine() -> None:
    service = 1e-4 + 1000 / DECODE
    rho = LAMBDA * service
    result = simulate(
        make_workload(poisson_times(2), out=np.full(N, 1001)), ideal_calibration(DECODE),
        one_engine(), "fifo",
    )  # fmt: skip
    wait = result.outcomes.e2e - service
    assert wait.min() >= -1e-9
    assert wait.mean() == pytest.approx(rho * service / (2 * (1 - rho)), rel=0.05)
    # Little's law on the side: time-average work in system = lambda * W.
    assert result.summary["overall"]["request_throughput"] == pytest.approx(LAMBDA, rel=0.02)


def test_siloed_engine_is_the_same_queue() -> None:
    """Without a control plane the engine's own FIFO slot queue gives the same M/D/1."""
    workload = make_workload(poisson_times(3)[:20_000], out=np.full(20_000, 1001))
    unified = simulate(workload, ideal_calibration(DECODE), one_engine(), "fifo")
    siloed = simulate(workload, ideal_calibration(DECODE), one_engine(), "siloed")
    assert np.allclose(unified.outcomes.e2e, siloed.outcomes.e2e)
