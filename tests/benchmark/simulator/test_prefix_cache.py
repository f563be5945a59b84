"""The simulator models engine prefix caches: prefix_aware beats least_loaded on hits."""

from __future__ import annotations

from sage.benchmark.serving.prefixes import oracle_of
from sage.benchmark.serving.workload import WorkloadSpec, generate
from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
from sage.benchmark.simulator.core import simulate
from sage.benchmark.simulator.prefix_cache import SimPrefixCache
from sage.benchmark.simulator.profiles import Calibration


def test_lru_in_tokens() -> None:
    cache = SimPrefixCache(capacity_tokens=1000)
    cache.insert(1, 600)
    assert cache.lookup(1, 400) == 400 and cache.lookup(2, 400) == 0
    cache.insert(2, 600)  # evicts 1
    assert cache.lookup(1, 400) == 0 and cache.lookup(2, 700) == 600
    cache.insert(3, 5000)  # larger than the cache: not held
    assert cache.used == 600


def test_prefix_aware_hits_more_than_least_loaded_on_shared_prefix() -> None:
    spec, cal, cluster = WorkloadSpec.load("shared-prefix"), Calibration.load(), ClusterSpec(4, 0)
    workload = generate(spec, 0.7 * capacity_rate(spec, cal, cluster), n=400, seed=0)
    hits = {}
    for policy in ("least_loaded", "prefix_aware"):
        llm = simulate(workload, cal, cluster, policy).summary["by_kind"]["llm"]
        assert llm["errors"] == 0 and llm["ok"] == llm["sent"]
        hits[policy] = llm["prefix_hit_rate"]
    assert hits["least_loaded"] < hits["prefix_aware"] <= oracle_of(workload)  # type: ignore[operator]
    assert hits["prefix_aware"] > 0.8 * oracle_of(workload)  # type: ignore[operator]
