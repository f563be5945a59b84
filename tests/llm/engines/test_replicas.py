"""Replica specs: N copies of one engine, cores split between them."""

from __future__ import annotations

import pytest

from sage.llm.engines.replicas import replica_specs
from sage.llm.engines.spec import EngineSpec


def test_replicas_split_the_cores() -> None:
    specs = replica_specs(EngineSpec(kind="llm", capacity=2), 2, cores=2)
    assert len(specs) == 2 and all(s.capacity == 2 for s in specs)
    assert all(s.extra_args == ["--n-threads", "1"] for s in specs)


def test_one_replica_is_the_spec_and_own_threads_are_kept() -> None:
    spec = EngineSpec(kind="llm", extra_args=["--n-threads", "3"])
    assert replica_specs(spec, 1) == [spec]
    assert replica_specs(spec, 2)[1].extra_args == ["--n-threads", "3"]


def test_fixed_port_or_zero_replicas_refused() -> None:
    with pytest.raises(ValueError):
        replica_specs(EngineSpec(kind="llm", port=8001), 2)
    with pytest.raises(ValueError):
        replica_specs(EngineSpec(kind="llm"), 0)
