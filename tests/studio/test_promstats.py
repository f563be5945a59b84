"""The studio's live figures from two Prometheus scrapes (no server needed)."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from sage.studio.promstats import fraction_below, live_figures, parse_scrape, quantile

BUCKETS = {0.1: 10.0, 0.5: 90.0, 1.0: 100.0, math.inf: 100.0}


def test_quantile_interpolates_inside_the_bucket() -> None:
    assert math.isclose(quantile(0.5, BUCKETS), 0.1 + 0.4 * (50 - 10) / 80)
    assert math.isclose(quantile(0.05, BUCKETS), 0.05)
    assert quantile(0.5, {0.1: 0.0, math.inf: 0.0}) is None


def test_fraction_below_the_slo() -> None:
    assert fraction_below(0.1, BUCKETS) == (10.0, 100.0)
    met, total = fraction_below(0.3, BUCKETS)
    assert math.isclose(met, 50.0) and total == 100.0
    assert fraction_below(5.0, BUCKETS) == (100.0, 100.0)


def _scrape(ok: int, throttled: int, fast: int, t: float):  # noqa: ANN202
    registry = CollectorRegistry()
    labels = ("kind", "policy", "tenant")
    requests = Counter("sage_gateway_requests", "", (*labels, "status"), registry=registry)
    latency = Histogram("sage_gateway_latency_seconds", "", labels, registry=registry,
                        buckets=(0.1, 1.0))
    requests.labels("chat", "fifo", "a", "200").inc(ok)
    requests.labels("chat", "fifo", "a", "429").inc(throttled)
    for i in range(ok):
        latency.labels("chat", "fifo", "a").observe(0.05 if i < fast else 0.5)
    return parse_scrape(generate_latest(registry).decode(), t)


def test_live_figures_rates_quantiles_and_slo() -> None:
    before = _scrape(ok=10, throttled=0, fast=10, t=100.0)
    now = _scrape(ok=30, throttled=10, fast=15, t=102.0)
    figures = live_figures(now, before, before, slo_s=0.1)
    rates = figures["rates"]
    assert rates["total"] == 15.0 and rates["429"] == 5.0 and rates["chat"] == 15.0
    latency = figures["latency"]["chat/a"]
    assert 0.1 < latency["e2e_p50"] <= 1.0  # 15 of the 20 new requests were slow
    # SLO: 5 fast of 20 answered + 10 throttled (misses) -> 1/6
    assert figures["slo"]["a"] == round(5 / 30, 4)


def test_queue_depth_per_class_from_the_gateway_metrics() -> None:
    from types import SimpleNamespace

    from sage.gateway.metrics import GatewayMetrics
    from sage.llm.control_plane.types import RequestKind

    waiting = [SimpleNamespace(kind=RequestKind.CHAT)] * 2 + [
        SimpleNamespace(kind=RequestKind.EMBEDDING)]
    metrics = GatewayMetrics(queue_depth=lambda: 3.0, queued=lambda: waiting)
    scrape = parse_scrape(metrics.render().decode(), 0.0)
    assert scrape.queue_depth == 3.0
    assert scrape.queue_by_kind == {"chat": 2.0, "completion": 0.0, "embedding": 1.0}
