"""prefix_aware's simulator shortcuts change no decision.

Two shortcuts keep a million-request run short: cache reports are applied as deltas
(``observe_delta``) instead of rebuilding an engine's index (``observe``), and a held
request is re-scored only when something its hold was decided on changed
(``_still_held``). Each run here is made twice, with and without the shortcut, and must
give the same per-request records and (for the reports) the same indexed blocks.
"""

from __future__ import annotations

import pytest

from sage.benchmark.serving.workload import WorkloadSpec, generate
from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
from sage.benchmark.simulator.core import Simulation
from sage.benchmark.simulator.prefix_cache import CacheReports
from sage.benchmark.simulator.profiles import Calibration
from sage.llm.control_plane.policies.prefix_aware import PrefixAwarePolicy
from tests.fixtures.simulated_runs import outcome_digest


def _run(name: str, n: int = 3000, engines: int = 16) -> Simulation:
    spec, cal, cluster = WorkloadSpec.load(name), Calibration.load(), ClusterSpec(engines, 0, False)
    workload = generate(spec, 0.7 * capacity_rate(spec, cal, cluster), n=n, seed=1)
    return Simulation(
        workload, cal, cluster, "prefix_aware", spec=spec, policy_options={"source": "precise"}
    )


class _WholeReports(CacheReports):
    """Every report handed over whole, through ``observe`` (as the live poller does)."""

    def poll(self) -> None:
        self.polls += 1
        for engine_id in [e for e in self.caches if e in self.dirty]:
            self.policy.observe(engine_id, self.caches[engine_id].report())
            self.reports += 1
        self.dirty.clear()


@pytest.mark.parametrize("workload", ["shared-prefix", "multi-turn"])
def test_reports_as_deltas_index_and_decide_as_whole_reports(workload: str) -> None:
    delta, whole = _run(workload), _run(workload)
    assert delta.reports is not None and whole.reports is not None
    whole.reports = _WholeReports(whole.reports.policy, whole.reports.caches.items())
    a, b = delta.policy, whole.policy
    assert isinstance(a, PrefixAwarePolicy) and isinstance(b, PrefixAwarePolicy)
    rebuilt = []
    a.observe = lambda *args: (rebuilt.append(1), PrefixAwarePolicy.observe(a, *args))  # type: ignore[method-assign]
    first, second = delta.run(), whole.run()
    assert outcome_digest(first) == outcome_digest(second)
    assert len(rebuilt) < delta.reports.reports / 4  # most reports went as deltas
    assert a.index.keys() == b.index.keys()
    for engine_id, index in a.index.items():
        assert set(index.blocks) == set(b.index[engine_id].blocks)


def test_held_requests_kept_decide_as_rescored_every_pass() -> None:
    kept, rescored = _run("multi-turn"), _run("multi-turn")
    policy = rescored.policy
    assert isinstance(policy, PrefixAwarePolicy)
    policy._still_held = lambda *args: False  # type: ignore[method-assign]
    used = []
    keeper = kept.policy
    assert isinstance(keeper, PrefixAwarePolicy)
    keep = keeper._still_held
    keeper._still_held = lambda *args: used.append(keep(*args)) or used[-1]  # type: ignore[method-assign]
    first, second = kept.run(), rescored.run()
    assert outcome_digest(first) == outcome_digest(second)
    assert sum(used) > 100  # requests were held, and kept without re-scoring
    assert first.summary["by_kind"]["llm"]["prefix_hit_rate"] > 0.5


def test_wakeups_that_change_nothing_are_skipped_and_decide_as_every_pass() -> None:
    """A wake-up for a finished request's deadline with no event since the last pass:
    its pass is skipped only while ``unchanged_until`` says it would decide nothing."""
    fast, every = _run("multi-turn"), _run("multi-turn")
    every._wake_skip = False
    passes = {"fast": 0, "every": 0}
    for name, sim in (("fast", fast), ("every", every)):
        policy = sim.policy
        assert isinstance(policy, PrefixAwarePolicy)
        place = policy.place

        def counted(ledger, now, name=name, place=place):  # type: ignore[no-untyped-def]
            passes[name] += 1
            return place(ledger, now)

        policy.place = counted  # type: ignore[method-assign]
    first, second = fast.run(), every.run()
    assert outcome_digest(first) == outcome_digest(second)
    assert passes["fast"] < passes["every"]  # some were skipped


def test_a_hold_counts_until_its_own_test_says_it_ran_out() -> None:
    """``since + hold_s`` may round below the time ``now - since >= hold_s`` first holds:
    until then the hold still counts (no pass is skipped past it)."""
    policy = PrefixAwarePolicy(source="precise", hold_s=1.0)
    since = 1023.9801505569009
    policy._held_since["r"] = since
    end = since + 1.0
    assert end - since < 1.0  # the float edge this guards
    assert policy.unchanged_until(end - 0.5) == end
    assert policy.unchanged_until(end) == end  # still held at ``end``: no promise past it
    assert policy.unchanged_until(end + 1e-9) == float("inf")


class _Forgetful(dict):  # type: ignore[type-arg]
    """A holders memo that never remembers: every scoring scans every index."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


class _Counting(dict):  # type: ignore[type-arg]
    """A holders memo that counts its hits."""

    hits = 0

    def get(self, key: object, default: object = None) -> object:
        value = super().get(key, default)
        self.hits += value is not None
        return value


@pytest.mark.parametrize("workload", ["shared-prefix", "multi-turn"])
def test_first_block_holders_memo_decides_as_scanning_every_index(workload: str) -> None:
    memo, scan = _run(workload), _run(workload)
    a, b = memo.policy, scan.policy
    assert isinstance(a, PrefixAwarePolicy) and isinstance(b, PrefixAwarePolicy)
    a._holders, b._holders = _Counting(), _Forgetful()
    first, second = memo.run(), scan.run()
    assert outcome_digest(first) == outcome_digest(second)
    assert a._holders.hits > 100  # type: ignore[attr-defined]  # the memo was used
