"""Arrival processes and workload generation: seeded, right rate, right burstiness."""

from __future__ import annotations

import numpy as np
import pytest

from sage.benchmark.serving.arrivals import arrival_times
from sage.benchmark.serving.prompts import chat_prompt, synthetic_text
from sage.benchmark.serving.workload import (
    KIND_EMBEDDING,
    KIND_LLM,
    LengthDist,
    TenantSpec,
    WorkloadSpec,
    generate,
)


def test_arrivals_are_reproducible_per_seed() -> None:
    a = arrival_times(5.0, np.random.default_rng(7), n=1000)
    b = arrival_times(5.0, np.random.default_rng(7), n=1000)
    c = arrival_times(5.0, np.random.default_rng(8), n=1000)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.diff(a) >= 0)


@pytest.mark.parametrize("burstiness", [0.25, 1.0, 4.0])
def test_mean_rate_and_coefficient_of_variation(burstiness: float) -> None:
    rate, n = 20.0, 200_000
    times = arrival_times(rate, np.random.default_rng(1), n=n, burstiness=burstiness)
    gaps = np.diff(np.concatenate([[0.0], times]))
    assert n / times[-1] == pytest.approx(rate, rel=0.02)
    # Gamma with shape k: CV = 1/sqrt(k); Poisson (k = 1) has CV 1.
    assert gaps.std() / gaps.mean() == pytest.approx(1 / np.sqrt(burstiness), rel=0.03)


def test_duration_bounds_the_arrivals() -> None:
    times = arrival_times(50.0, np.random.default_rng(2), duration=10.0, burstiness=0.5)
    assert times.max() < 10.0
    assert len(times) == pytest.approx(500, rel=0.2)


def test_infinite_burstiness_is_a_constant_rate() -> None:
    times = arrival_times(4.0, np.random.default_rng(0), n=5, burstiness=float("inf"))
    assert np.allclose(np.diff(times), 0.25)


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        arrival_times(0.0, np.random.default_rng(0), n=3)
    with pytest.raises(ValueError, match="exactly one"):
        arrival_times(1.0, np.random.default_rng(0))


def two_tenants() -> WorkloadSpec:
    return WorkloadSpec(
        tenants=[
            TenantSpec(name="a", weight=1, llm_fraction=1.0,
                       output_tokens=LengthDist(dist="fixed", value=8)),
            TenantSpec(name="b", weight=3, llm_fraction=0.0, burstiness=0.3,
                       embedding_inputs=LengthDist(dist="uniform", min=2, max=4)),
        ]
    )  # fmt: skip


def test_workload_mix_rates_and_lengths() -> None:
    w = generate(two_tenants(), 40.0, duration=200.0, seed=3)
    assert np.all(np.diff(w.t) >= 0)
    a, b = w.tenant == 0, w.tenant == 1
    assert a.sum() / 200.0 == pytest.approx(10.0, rel=0.1)
    assert b.sum() / 200.0 == pytest.approx(30.0, rel=0.15)
    assert np.all(w.kind[a] == KIND_LLM) and np.all(w.kind[b] == KIND_EMBEDDING)
    assert np.all(w.output_tokens[a] == 8) and np.all(w.output_tokens[b] == 0)
    assert set(np.unique(w.n_inputs[b])) == {2, 3, 4}
    assert np.all(w.n_inputs[a] == 1)
    assert w.prompt_tokens.min() >= 1 and w.prompt_tokens.max() <= 1024


def test_workload_is_seeded_and_tenants_are_independent() -> None:
    spec = two_tenants()
    one, two = generate(spec, 10.0, n=500, seed=5), generate(spec, 10.0, n=500, seed=5)
    assert np.array_equal(one.t, two.t) and np.array_equal(one.prompt_tokens, two.prompt_tokens)
    alone = one.only_tenant("a")
    assert set(alone.tenant.tolist()) == {0}
    assert np.array_equal(alone.t, one.t[one.tenant == 0])


def test_default_workload_ships_and_is_valid() -> None:
    spec = WorkloadSpec.default()
    assert len(spec.tenants) >= 2
    assert 0 < spec.llm_share() < 1
    with pytest.raises(ValueError, match="unique"):
        WorkloadSpec(tenants=[TenantSpec(name="x"), TenantSpec(name="x")])


def test_synthetic_prompts_have_the_requested_length() -> None:
    assert len(synthetic_text(50, 1).split()) == 50
    assert synthetic_text(20, 1) == synthetic_text(20, 1)
    assert synthetic_text(20, 1) != synthetic_text(20, 2)
    assert len(chat_prompt(40, 3).split()) == pytest.approx(40, abs=3)
