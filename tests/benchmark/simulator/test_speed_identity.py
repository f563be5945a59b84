"""The simulator's speed work changed no decision: fixed-seed record digests.

The digests were taken from commit 3cb4c30 (before the prefix_aware index path, the
bounded hash memo and the cache reports) on the same runs: 3,000 requests at 64 LLM
engines, 70% of the modelled capacity, seed 0. A legitimate change of the engine model
or of a policy's decisions changes them too: re-take them then (and say so).

Re-taken: multi-turn prefix_aware when the stand-in block hashes began to follow the
gateway's rule (blocks of 256 characters per message, a session's turn = the previous
turn's messages + its answer + the new question; before: one block per 64 prefix
tokens), which changes how many blocks two engines' indexes differ by; and again when
prefix_aware's tie-break between equally scored engines became the one home to the fewest
prefixes, then the smallest index (before: the smallest index alone).
"""

from __future__ import annotations

import pytest

from sage.benchmark.serving.prefixes import oracle_of
from sage.benchmark.serving.workload import WorkloadSpec, generate
from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
from sage.benchmark.simulator.core import Simulation
from sage.benchmark.simulator.prefix_cache import CacheReports
from sage.benchmark.simulator.profiles import Calibration
from tests.fixtures.simulated_runs import outcome_digest

BEFORE = {
    ("shared-prefix", "least_loaded"): "0ec534660436ac59",
    ("shared-prefix", "prefix_aware"): "fd1e8b2fecc119bd",
    ("multi-turn", "least_loaded"): "1faa7fb1dc4e130a",
    ("multi-turn", "prefix_aware"): "08dcfb9145775c17",
    ("default", "least_loaded"): "09cad357052f0254",
    ("default", "prefix_aware"): "09cad357052f0254",
}


def _spec(name: str) -> WorkloadSpec:
    if name != "default":
        return WorkloadSpec.load(name)
    spec = WorkloadSpec.default()  # chats only, as `--llm-fraction 1`
    tenants = [t.model_copy(update={"llm_fraction": 1.0}) for t in spec.tenants]
    return spec.model_copy(update={"tenants": tenants})


def _run(name: str, policy: str, n: int = 3000, **options: object) -> Simulation:
    spec, cal, cluster = _spec(name), Calibration.load(), ClusterSpec(64, 0, False)
    workload = generate(spec, 0.7 * capacity_rate(spec, cal, cluster), n=n, seed=0)
    return Simulation(workload, cal, cluster, policy, spec=spec, policy_options=options)


@pytest.mark.parametrize(("workload", "policy"), sorted(BEFORE))
def test_records_are_those_of_the_code_before(workload: str, policy: str) -> None:
    assert outcome_digest(_run(workload, policy).run()) == BEFORE[(workload, policy)]


class _EveryEngine(CacheReports):
    """The literal poller: every engine reports at every poll, changed or not."""

    def poll(self) -> None:
        self.dirty.update(self.caches)
        super().poll()


@pytest.mark.parametrize("workload", ["shared-prefix", "multi-turn"])
def test_precise_reports_of_changed_caches_only_decide_as_reporting_all(workload: str) -> None:
    lazy = _run(workload, "prefix_aware", source="precise")
    literal = _run(workload, "prefix_aware", source="precise")
    assert lazy.reports is not None and literal.reports is not None
    literal.reports = _EveryEngine(literal.reports.policy, literal.reports.caches.items())
    first, second = lazy.run(), literal.run()
    assert outcome_digest(first) == outcome_digest(second)
    assert first.config["cache_reports"]["reports"] < second.config["cache_reports"]["reports"]


def test_precise_mode_learns_from_the_engines() -> None:
    llm = {}
    for policy, options in (("least_loaded", {}), ("prefix_aware", {"source": "precise"})):
        sim = _run("shared-prefix", policy, n=2000, **options)
        llm[policy] = sim.run().summary["by_kind"]["llm"]["prefix_hit_rate"]
        if options:
            assert sim.reports is not None and sim.reports.reports > 0
            assert sim.policy is not None and sim.policy.describe()["indexed_blocks"]
    assert llm["least_loaded"] < llm["prefix_aware"] <= oracle_of(sim.workload)  # type: ignore[operator]


def test_progress_is_reported_on_long_runs() -> None:
    seen: list[tuple[int, int]] = []
    _run("shared-prefix", "prefix_aware", n=20_000).run(lambda done, n: seen.append((done, n)))
    assert seen and all(0 < done <= n for done, n in seen) and seen == sorted(seen)


def test_speed_tool_prints_one_run(capsys: pytest.CaptureFixture[str]) -> None:
    from sage.benchmark.simulator.speed import main

    out = main(["shared-prefix", "prefix_aware:precise", "-n", "500", "-e", "8"])
    assert abs(out["requests"] - 500) <= 8 and out["cpu_s"] >= 0
    assert len(out["digest"]) == 16
    assert '"policy": "prefix_aware:precise"' in capsys.readouterr().out
