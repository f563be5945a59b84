"""Latency percentiles from the gateway's own Prometheus ``/metrics``.

The gateway exports a latency histogram per request kind; percentiles are estimated
from its buckets the way Prometheus' ``histogram_quantile`` does (linear inside the
bucket), so the demo reports what an operator's dashboard would show.
"""

from __future__ import annotations

import math
from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families

LATENCY_METRIC = "sage_gateway_latency_seconds"


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """``q``-quantile from cumulative ``(upper_bound, count)`` buckets (incl. ``+Inf``)."""
    if not 0 <= q <= 1:
        raise ValueError("q must be in [0, 1]")
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return math.nan
    rank = q * buckets[-1][1]
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return prev_bound  # beyond the last finite bucket: its bound is all we know
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return prev_bound


def latency_buckets(metrics_text: str) -> dict[str, list[tuple[float, float]]]:
    """Cumulative buckets of the latency histogram per request kind (summed over labels)."""
    per_kind: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for family in text_string_to_metric_families(metrics_text):
        if family.name != LATENCY_METRIC:
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                per_kind[sample.labels.get("kind", "all")][bound] += sample.value
    return {kind: sorted(b.items()) for kind, b in per_kind.items()}


def gateway_latency(base_url: str, quantiles: tuple[float, ...] = (0.5, 0.99),
                    ) -> dict[str, dict[str, float]]:
    """``{kind: {"count": n, "p50": s, "p99": s}}`` scraped from ``{base_url}/metrics``."""
    url = base_url.rstrip("/")
    url = url[: -len("/v1")] if url.endswith("/v1") else url
    text = httpx.get(url + "/metrics", timeout=10.0).text
    out: dict[str, dict[str, float]] = {}
    for kind, buckets in latency_buckets(text).items():
        stats = {"count": buckets[-1][1] if buckets else 0.0}
        for q in quantiles:
            stats[f"p{round(q * 100):d}"] = histogram_quantile(q, buckets)
        out[kind] = stats
    return out
