"""The gateway while it serves the largest embedding request the limits allow: its peak
RSS and the ``/health`` latency other clients see meanwhile (issue 23's target: under
300 MB and p99 under 100 ms).

Run: ``python -m sage.benchmark.gateway.largest_request [--repeats 3]`` (starts the
default embedding engine and a gateway in its own process, so the RSS is the gateway's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from sage.benchmark.gateway.process_stats import rss_mb
from sage.common.security import InputLimits


def _poll_health(url: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            start = time.perf_counter()
            client.get(url + "/health")
            out.append((time.perf_counter() - start) * 1000)
            stop.wait(0.02)


def largest_request_body(limits: InputLimits) -> dict[str, Any]:
    """``max_embedding_inputs`` texts that together use ``max_input_chars``."""
    per = max(1, limits.max_input_chars // limits.max_embedding_inputs)
    text = ("the quick brown fox jumps over the lazy dog " * (per // 44 + 1))[:per]
    return {"model": "default", "input": [text] * limits.max_embedding_inputs}


def measure(repeats: int = 3) -> dict[str, Any]:
    from sage.gateway.stack import ServingStack
    from sage.llm.engine_manager import EngineManager

    body = largest_request_body(InputLimits())
    runs = []
    with tempfile.TemporaryDirectory() as home, \
            EngineManager(Path(home), persist=False) as manager, \
            ServingStack(embedding_model="default", engine_manager=manager,
                         mode="process") as stack:
        assert stack._process is not None
        pid = stack._process.pid
        httpx.post(stack.url + "/v1/embeddings", json={"input": "warm up"}, timeout=120)
        idle_rss, _ = rss_mb(pid)
        for _ in range(repeats):
            latencies: list[float] = []
            stop = threading.Event()
            poller = threading.Thread(target=_poll_health, args=(stack.url, stop, latencies))
            poller.start()
            start = time.perf_counter()
            reply = httpx.post(stack.url + "/v1/embeddings", json=body, timeout=900)
            seconds = time.perf_counter() - start
            stop.set()
            poller.join()
            _, peak = rss_mb(pid)
            latencies.sort()
            runs.append({
                "status": reply.status_code,
                "answer_mb": round(len(reply.content) / 1e6, 1),
                "seconds": round(seconds, 2),
                "health_samples": len(latencies),
                "health_p50_ms": round(latencies[len(latencies) // 2], 1),
                "health_p99_ms": round(latencies[min(len(latencies) - 1,
                                                     int(len(latencies) * 0.99))], 1),
                "health_max_ms": round(latencies[-1], 1),
                "gateway_peak_rss_mb": round(peak, 1),
            })
    keys = ("seconds", "health_p99_ms", "health_max_ms", "gateway_peak_rss_mb")
    return {
        "inputs": len(body["input"]),
        "chars": sum(map(len, body["input"])),
        "gateway_idle_rss_mb": round(idle_rss, 1),
        "runs": runs,
        "median": {k: statistics.median(r[k] for r in runs) for k in keys},
        "spread": {k: [min(r[k] for r in runs), max(r[k] for r in runs)] for k in keys},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.repeats), indent=2))


if __name__ == "__main__":
    main()
