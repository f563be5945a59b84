"""`sage bench studio` end to end at a tiny scale: both phases run, the open one is live."""

from __future__ import annotations

from sage.benchmark.studio_overhead import run_studio_overhead


def test_open_and_closed_phases_run_and_the_overview_is_live() -> None:
    result = run_studio_overhead(rate=20.0, duration_s=2.5, repeats=1, engine_latency_ms=5.0)
    assert [p.studio_open for p in result.phases] == [False, True]
    assert result.errors == 0
    assert all(p.sent == 50 for p in result.phases)
    assert result.phases[1].studio_events_per_s and result.phases[1].studio_events_per_s > 0.5
    assert result.phases[0].studio_events_per_s is None
    assert result.closed_p50_ms > 0 and result.open_p50_ms > 0
