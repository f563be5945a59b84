"""Streamed tokens/s: through the gateway vs straight to the engine's HTTP endpoint vs
llama-cpp-python in-process. Runs are interleaved so all three see the same machine load.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sage.benchmark.gateway.load import stream_tokens

PROMPT = "Write a long story about a lighthouse keeper and the sea."


@dataclass
class StreamingFigures:
    inprocess_tokens_per_s: float
    engine_http_tokens_per_s: float
    gateway_tokens_per_s: float
    ratio_to_inprocess: float
    ratio_to_engine_http: float
    tokens: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class InProcessLlama:
    """llama-cpp-python in this process, same prompt, sampling and settings as the engine."""

    def __init__(self, model_path: str) -> None:
        from sage.llm.engines.llama import load_llama

        # Loaded exactly as the engine loads it (threads, context, micro-batch), so the
        # comparison measures the serving path only.
        self.llm = load_llama(model_path)

    def tokens_per_s(self, max_tokens: int) -> float:
        first: float | None = None
        tokens = 0
        for chunk in self.llm.create_chat_completion(
            messages=[{"role": "user", "content": PROMPT}],
            max_tokens=max_tokens,
            temperature=0.0,
            top_p=1.0,  # the engine's default for OpenAI requests
            stream=True,
        ):
            if chunk["choices"][0]["delta"].get("content"):  # type: ignore[index]
                if first is None:
                    first = time.perf_counter()
                tokens += 1
        end = time.perf_counter()
        return tokens / (end - first) if first and end > first else 0.0

    def close(self) -> None:
        close = getattr(self.llm, "close", None)
        if callable(close):
            close()


def http_tokens_per_s(url: str, max_tokens: int) -> float:
    body = {
        "model": "default",
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
    }
    return asyncio.run(stream_tokens(url, body)).units_per_s


def measure_streaming(
    gateway_url: str,
    engine_url: str,
    model_path: str,
    *,
    max_tokens: int,
    repeats: int,
    tick: Callable[[], None] = lambda: None,
) -> StreamingFigures:
    """Medians over ``repeats`` rounds of (engine, gateway, in-process)."""
    http_tokens_per_s(gateway_url, 8)  # warm-up
    local = InProcessLlama(model_path)
    engine, gateway, inproc = [], [], []
    try:
        local.tokens_per_s(8)
        for _ in range(repeats):
            engine.append(http_tokens_per_s(engine_url, max_tokens))
            gateway.append(http_tokens_per_s(gateway_url, max_tokens))
            inproc.append(local.tokens_per_s(max_tokens))
            tick()
    finally:
        local.close()
    e, g, d = (statistics.median(x) for x in (engine, gateway, inproc))
    return StreamingFigures(d, e, g, g / d if d else 0.0, g / e if e else 0.0, max_tokens)
