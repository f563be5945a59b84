"""Embedding batch sizes read from a live gateway and fake engine, before and after."""

from __future__ import annotations

import httpx

from sage.benchmark.serving.batch_sizes import batch_stats, read_counters
from sage.llm.engines.spec import EngineInfo
from tests.fixtures.gateway import start_gateway


def test_gateway_and_engine_counters_give_batch_sizes(fake_engine: EngineInfo) -> None:
    gw = start_gateway([fake_engine])
    try:
        before = read_counters(fake_engine.url, gw.url)
        assert {"gateway_inputs", "gateway_dispatches"} <= set(before)
        body = {"model": "fake-embedding", "input": ["a", "b", "c"]}
        assert httpx.post(gw.url + "/v1/embeddings", json=body, timeout=30).status_code == 200
        stats = batch_stats(before, read_counters(fake_engine.url, gw.url))
        assert stats["gateway_dispatches"] == 1
        assert stats["gateway_inputs_per_dispatch"] == 3
    finally:
        gw.stop()
