"""Embedding batch sizes of one run: what the engine ran and what the gateway sent.

The embedding engine counts its model calls and inputs (``/health``: ``batches``,
``items``); the gateway counts its embedding dispatches and their inputs
(``/metrics``: ``sage_gateway_embedding_batch_inputs``). Read before and after a run,
the differences say how large the batches were: the figure that decides how much CPU
an embedding call takes from an LLM on the same cores (padding grows with batch size).
"""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sage.common.admin_token import admin_headers

_GATEWAY_SUM = "sage_gateway_embedding_batch_inputs_sum"
_GATEWAY_COUNT = "sage_gateway_embedding_batch_inputs_count"


def read_counters(embedding_url: str, gateway_url: str | None) -> dict[str, float]:
    """The engine's and the gateway's cumulative counters now (absent ones left out)."""
    out: dict[str, float] = {}
    try:
        health = httpx.get(embedding_url.rstrip("/") + "/health", timeout=5.0).json()
        if isinstance(health, dict) and "batches" in health:
            out["engine_batches"] = float(health["batches"])
            out["engine_items"] = float(health.get("items", 0))
    except (httpx.HTTPError, ValueError):
        pass
    if gateway_url is not None:
        try:
            text = httpx.get(
                gateway_url.rstrip("/") + "/metrics", headers=admin_headers(), timeout=5.0
            ).text
        except httpx.HTTPError:
            return out
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == _GATEWAY_SUM:
                    out["gateway_inputs"] = sample.value
                elif sample.name == _GATEWAY_COUNT:
                    out["gateway_dispatches"] = sample.value
    return out


def batch_stats(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """Batches and mean inputs per batch between two readings (``None``: not measured)."""

    def delta(key: str) -> float | None:
        if key not in before or key not in after:
            return None
        return after[key] - before[key]

    batches, items = delta("engine_batches"), delta("engine_items")
    dispatches, inputs = delta("gateway_dispatches"), delta("gateway_inputs")
    return {
        "engine_batches": batches,
        "engine_inputs_per_batch": items / batches if batches and items is not None else None,
        "gateway_dispatches": dispatches,
        "gateway_inputs_per_dispatch": (
            inputs / dispatches if dispatches and inputs is not None else None
        ),
    }
