"""Overload soak, short (issue 18): at 10x the pool's capacity the gateway answers every
request 200 or 429 (OpenAI's error shape), loses nothing it accepted and keeps its memory."""

from __future__ import annotations

from sage.benchmark.gateway.soak import SoakConfig, run_soak
from sage.llm.engine_manager import EngineManager


def test_ten_times_capacity_for_a_few_seconds(fake_engine_manager: EngineManager) -> None:
    config = SoakConfig(duration_s=12.0, overload=10.0, max_queue=64, rss_growth_mb=64.0)
    report = run_soak(config, fake_engine_manager)
    assert report.violations() == []
    status = report.traffic["status"]
    refused = sum(v for k, v in status.items() if k.endswith(":429"))
    answered = sum(v for k, v in status.items() if k.endswith(":200"))
    assert refused > 0 and answered > 0  # it was overloaded, and it kept serving
    assert report.traffic["sent"] == refused + answered
    assert max(mb for _, mb in report.rss_mb) < 500
