"""Live figures from two scrapes of the gateway's Prometheus text: rates from counter
deltas, p50/p99 and SLO attainment from histogram bucket deltas (as Prometheus'
``rate`` and ``histogram_quantile`` would compute them), so the gateway keeps no
extra state for the studio."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "sage_gateway_requests"
LATENCY = "sage_gateway_latency_seconds"
TTFT = "sage_gateway_ttft_seconds"
QUEUE = "sage_gateway_queue_depth"
QUEUE_BY_KIND = "sage_gateway_queue_depth_by_kind"

Buckets = dict[float, float]  # upper bound -> cumulative count


@dataclass
class Scrape:
    """The counters and histograms the studio reads, summed over the policy label."""

    t: float
    requests: dict[tuple[str, str, str], float] = field(default_factory=dict)  # kind,tenant,status
    latency: dict[tuple[str, str], Buckets] = field(default_factory=dict)  # kind,tenant
    ttft: dict[tuple[str, str], Buckets] = field(default_factory=dict)
    queue_depth: float = 0.0
    queue_by_kind: dict[str, float] = field(default_factory=dict)


def parse_scrape(text: str, t: float) -> Scrape:
    """Read one ``/metrics`` answer."""
    scrape = Scrape(t)
    requests: dict[tuple[str, str, str], float] = defaultdict(float)
    hists = {LATENCY: scrape.latency, TTFT: scrape.ttft}
    for family in text_string_to_metric_families(text):
        if family.name == REQUESTS:
            for s in family.samples:
                if s.name.endswith("_total"):
                    key = (s.labels["kind"], s.labels["tenant"], s.labels["status"])
                    requests[key] += s.value
        elif family.name in hists:
            target = hists[family.name]
            for s in family.samples:
                if s.name.endswith("_bucket"):
                    buckets = target.setdefault((s.labels["kind"], s.labels["tenant"]), {})
                    le = float(s.labels["le"])
                    buckets[le] = buckets.get(le, 0.0) + s.value
        elif family.name == QUEUE:
            scrape.queue_depth = sum(s.value for s in family.samples)
        elif family.name == QUEUE_BY_KIND:
            for s in family.samples:
                scrape.queue_by_kind[s.labels["kind"]] = s.value
    scrape.requests = dict(requests)
    return scrape


def bucket_delta(new: Buckets, old: Buckets | None) -> Buckets:
    old = old or {}
    return {le: max(0.0, c - old.get(le, 0.0)) for le, c in new.items()}


def quantile(q: float, buckets: Buckets) -> float | None:
    """``histogram_quantile``: linear interpolation inside the bucket holding rank q."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return None
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for le in bounds:
        count = buckets[le]
        if count >= rank:
            if math.isinf(le):
                return prev_bound
            span = count - prev_count
            frac = (rank - prev_count) / span if span > 0 else 1.0
            return prev_bound + (le - prev_bound) * frac
        prev_bound, prev_count = le, count
    return prev_bound


def fraction_below(threshold: float, buckets: Buckets) -> tuple[float, float]:
    """(requests estimated at or under ``threshold`` seconds, all requests)."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    prev_bound, prev_count = 0.0, 0.0
    for le in bounds:
        count = buckets[le]
        if threshold <= le:
            if math.isinf(le):
                return prev_count, total
            frac = (threshold - prev_bound) / (le - prev_bound) if le > prev_bound else 1.0
            return prev_count + (count - prev_count) * frac, total
        prev_bound, prev_count = le, count
    return total, total


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def live_figures(now: Scrape, rate_base: Scrape | None, window_base: Scrape | None,
                 slo_s: float) -> dict[str, object]:
    """What one SSE update carries: request/429 rates over ``now - rate_base``; latency
    quantiles and SLO attainment over the longer ``now - window_base``."""
    rates: dict[str, float] = defaultdict(float)
    if rate_base is not None and now.t > rate_base.t:
        dt = now.t - rate_base.t
        for key, count in now.requests.items():
            delta = max(0.0, count - rate_base.requests.get(key, 0.0)) / dt
            kind, _, status = key
            rates["total"] += delta
            rates[kind] += delta
            if status == "429":
                rates["429"] += delta
            elif int(status) >= 400:
                rates["errors"] += delta
    latency: dict[str, dict[str, float | None]] = {}
    slo: dict[str, float | None] = {}
    if window_base is not None:
        met: dict[str, float] = defaultdict(float)
        answered: dict[str, float] = defaultdict(float)
        for (kind, tenant), buckets in now.latency.items():
            delta = bucket_delta(buckets, window_base.latency.get((kind, tenant)))
            ttft = bucket_delta(now.ttft.get((kind, tenant), {}),
                                window_base.ttft.get((kind, tenant)))
            label = f"{kind}/{tenant}"
            latency[label] = {
                "e2e_p50": _r(quantile(0.5, delta)), "e2e_p99": _r(quantile(0.99, delta)),
                "ttft_p50": _r(quantile(0.5, ttft)), "ttft_p99": _r(quantile(0.99, ttft)),
            }
            ok, total = fraction_below(slo_s, delta)
            met[tenant] += ok
            answered[tenant] += total
        failed: dict[str, float] = defaultdict(float)
        for key, count in now.requests.items():
            if int(key[2]) >= 400:
                failed[key[1]] += max(0.0, count - window_base.requests.get(key, 0.0))
        for tenant in set(answered) | set(failed):
            total = answered[tenant] + failed[tenant]
            slo[tenant] = _r(met[tenant] / total) if total > 0 else None
    return {
        "rates": {k: round(v, 3) for k, v in rates.items()},
        "latency": latency,
        "slo": slo,
        "queue_depth": now.queue_depth,
        "queue_by_kind": now.queue_by_kind,
    }
