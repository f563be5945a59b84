"""Measure real engines and fit the simulator's performance model (``sage bench calibrate``).

Everything goes over the same HTTP path and client as the benchmark, so per-call
overheads land in the fitted intercepts:

* LLM: streamed chats at several prompt lengths; TTFT against the prompt tokens the
  engine reports (a line: intercept + tokens / prefill rate), decode rate from the
  median inter-token gap, template tokens = reported minus sent;
* embedding: single calls of n texts of L tokens; least squares of
  ``fixed + per_item * n + per_token * n * L`` (all texts of a call have length L),
  fitted on medians with relative errors so small calls fit as well as big ones;
* contention: TTFT (prefill) and decode gaps while the embedding engine is kept busy,
  and embedding call time while the LLM decodes, each against its idle figure;
* gateway: optional, median extra latency of a small embedding call through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np

from sage.benchmark.serving.baselines import gateway_policy, set_gateway_policy
from sage.benchmark.serving.client import RequestRecord, discover_model, send_chat, send_embedding
from sage.benchmark.serving.metrics import OK
from sage.benchmark.serving.prompts import chat_prompt, synthetic_text
from sage.benchmark.simulator.profiles import (
    Calibration,
    Contention,
    EmbeddingProfile,
    LLMProfile,
)

PROMPT_SIZES = (12, 24, 48, 96)
EMBED_BATCHES = (1, 2, 4, 8, 16)  # the sizes requests and micro-batches have here
EMBED_LENGTHS = (8, 24, 64)


class CalibrationError(RuntimeError):
    """A calibration call failed; the engines are not usable as measured."""


async def _chat(
    client: httpx.AsyncClient, url: str, model: str, prompt_tokens: int, max_tokens: int, seed: int
) -> RequestRecord:
    record = RequestRecord(0, 0, "calibration", 0.0, max_tokens=max_tokens)
    await send_chat(client, url, model, chat_prompt(prompt_tokens, seed), record, {}, seed)
    if record.outcome != OK:
        raise CalibrationError(f"chat call failed: {record.error}")
    return record


async def _embed(
    client: httpx.AsyncClient, url: str, model: str, n: int, length: int, seed: int
) -> RequestRecord:
    record = RequestRecord(0, 1, "calibration", 0.0, n_inputs=n)
    texts = [synthetic_text(length, seed * 1000 + i) for i in range(n)]
    await send_embedding(client, url, model, texts, record, {})
    if record.outcome != OK:
        raise CalibrationError(f"embedding call failed: {record.error}")
    return record


async def calibrate(
    llm_url: str,
    embedding_url: str,
    *,
    gateway_url: str | None = None,
    repeats: int = 3,
    prompt_sizes: tuple[int, ...] = PROMPT_SIZES,
    embed_batches: tuple[int, ...] = EMBED_BATCHES,
    embed_lengths: tuple[int, ...] = EMBED_LENGTHS,
    contention_samples: int = 5,
    contention_tokens: int = 64,
    tick: Callable[[str], None] | None = None,
) -> Calibration:
    """Fit a :class:`Calibration` for the engines at ``llm_url`` and ``embedding_url``."""
    note = tick or (lambda _: None)
    timeout = httpx.Timeout(300.0, connect=10.0)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        httpx.AsyncClient(timeout=timeout) as side,
    ):
        llm_model = await discover_model(client, llm_url)
        emb_model = await discover_model(client, embedding_url)
        await _chat(client, llm_url, llm_model, 16, 4, 1)  # warm-up
        await _embed(client, embedding_url, emb_model, 4, 16, 1)

        note("LLM prefill and decode")
        chats: list[tuple[int, RequestRecord]] = []
        for size in prompt_sizes:
            for r in range(repeats):
                seed = 1000 * size + r  # a fresh prompt each time: no prompt-cache hits
                chats.append((size, await _chat(client, llm_url, llm_model, size, 24, seed)))
        engine_tokens = np.array([rec.input_tokens for _, rec in chats], dtype=float)
        ttfts = np.array([rec.ttft for _, rec in chats])
        slope, intercept = np.polyfit(engine_tokens, ttfts, 1)
        gaps = [g for _, rec in chats for g in rec.itl]
        itl_alone = statistics.median(gaps)
        template = statistics.median(rec.input_tokens - size for size, rec in chats)

        note("embedding batch curve")
        rows, times = [], []
        for n in embed_batches:
            for length in embed_lengths:
                tries = [
                    await _embed(client, embedding_url, emb_model, n, length, 7 + r)
                    for r in range(max(2, repeats))
                ]
                rows.append((1.0, n, tries[0].input_tokens, n, length))
                times.append(statistics.median(rec.e2e for rec in tries))
        design = np.array([r[:3] for r in rows], dtype=float)
        target = np.array(times)
        # Relative errors: small calls (most of them) matter as much as big batches.
        coef = _nonnegative_lstsq(design / target[:, None], np.ones_like(target))
        extra_tokens = statistics.median(r[2] / r[3] - r[4] for r in rows)

        note("contention between the engines")
        # Requests shaped like the benchmark's (fresh prompts: prefill and decode; small
        # embedding calls), each kind timed alone and while the other engine is kept busy.
        seeds = itertools.count(900_000)

        def chat(c: httpx.AsyncClient, out: int = contention_tokens) -> Any:
            return _chat(c, llm_url, llm_model, 32, out, next(seeds))

        def embed(c: httpx.AsyncClient) -> Any:
            return _embed(c, embedding_url, emb_model, 4, 24, next(seeds))

        chats_n = max(2, 2 * repeats)
        llm_alone = [await chat(client) for _ in range(chats_n)]
        llm_contended = await _while_busy(lambda: embed(side), lambda: chat(client), chats_n)
        ttft_ratio = _median_ratio(llm_alone, llm_contended, lambda r: [r.ttft])
        itl_ratio = _median_ratio(llm_alone, llm_contended, lambda r: r.itl)
        itl_quiet = statistics.median(g for rec in llm_alone for g in rec.itl)
        itl_contended = statistics.median(g for rec in llm_contended for g in rec.itl)
        emb_alone = statistics.median(
            [(await embed(client)).e2e for _ in range(contention_samples)]
        )
        emb_contended_recs = await _while_busy(
            lambda: chat(side, 4 * contention_tokens), lambda: embed(client), contention_samples
        )
        emb_contended = statistics.median(rec.e2e for rec in emb_contended_recs)

        gateway_overhead = 0.002
        if gateway_url is not None:
            note("gateway overhead")
            gateway_overhead = await _gateway_overhead(
                client, gateway_url, embedding_url, emb_model
            )

    return Calibration(
        llm=LLMProfile(
            prefill_tokens_per_s=1.0 / max(slope, 1e-6),
            decode_tokens_per_s=1.0 / itl_alone,
            ttft_overhead_s=float(intercept),
            template_tokens=float(template),
        ),
        embedding=EmbeddingProfile(
            fixed_s=float(coef[0]),
            per_item_s=float(coef[1]),
            per_token_s=float(coef[2]),
            extra_tokens_per_input=float(extra_tokens),
        ),
        contention=Contention(
            llm_speed=min(4.0, itl_ratio),
            llm_prefill_speed=min(4.0, ttft_ratio),
            embedding_speed=min(4.0, emb_alone / emb_contended),
        ),
        gateway_overhead_s=max(0.0, gateway_overhead),
        source={
            "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "host": platform.node(),
            "machine": platform.machine(),
            "cpus": _cpu_count(),
            "llm_url": llm_url,
            "embedding_url": embedding_url,
            "load_avg": list(_load_avg()),
            "fit": {
                "chat_points": len(chats),
                "ttft_r2": _r2(engine_tokens, ttfts, slope, intercept),
                "embedding_points": len(times),
                "itl_alone_ms": itl_alone * 1000,
                "itl_quiet_ms": itl_quiet * 1000,
                "itl_contended_ms": itl_contended * 1000,
                "llm_ttft_speed_when_contended": ttft_ratio,
                "llm_itl_speed_when_contended": itl_ratio,
                "embedding_4x24_alone_ms": emb_alone * 1000,
                "embedding_4x24_contended_ms": emb_contended * 1000,
            },
        },
    )


async def _while_busy(
    background: Callable[[], Any], measured: Callable[[], Any], count: int
) -> list[RequestRecord]:
    """Run ``measured`` ``count`` times while ``background`` runs back to back."""
    stop = asyncio.Event()

    async def keep_busy() -> None:
        while not stop.is_set():
            await background()

    task = asyncio.get_running_loop().create_task(keep_busy())
    try:
        await asyncio.sleep(0.3)
        return [await measured() for _ in range(count)]
    finally:
        stop.set()
        task.cancel()  # closing the stream stops the engine's work too
        with contextlib.suppress(BaseException):
            await task


async def _gateway_overhead(
    client: httpx.AsyncClient, gateway_url: str, embedding_url: str, model: str
) -> float:
    """The hop alone: measured under ``fifo`` (hybrid would add its batching window,
    which the simulator runs as policy code)."""
    before = gateway_policy(gateway_url)
    if before is not None:
        set_gateway_policy(gateway_url, "fifo")
    try:
        direct, via = [], []
        for i in range(20):
            direct.append((await _embed(client, embedding_url, model, 1, 8, i)).e2e)
            via.append((await _embed(client, gateway_url, "default", 1, 8, i)).e2e)
    finally:
        if before is not None:
            set_gateway_policy(gateway_url, before)
    return statistics.median(via) - statistics.median(direct)


def _median_ratio(
    alone: list[RequestRecord],
    contended: list[RequestRecord],
    values: Callable[[RequestRecord], list[float]],
) -> float:
    """Median over ``alone`` / median over ``contended``: the speed factor under load."""
    quiet = statistics.median(v for rec in alone for v in values(rec))
    busy = statistics.median(v for rec in contended for v in values(rec))
    return quiet / busy if busy > 0 else 1.0


def _nonnegative_lstsq(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least squares, refitting without any coefficient that comes out negative."""
    active = list(range(design.shape[1]))
    while True:
        coef, *_ = np.linalg.lstsq(design[:, active], target, rcond=None)
        negative = [a for a, c in zip(active, coef, strict=True) if c < 0]
        if not negative:
            full = np.zeros(design.shape[1])
            full[active] = coef
            return full
        active.remove(negative[0])


def _r2(x: np.ndarray, y: np.ndarray, slope: float, intercept: float) -> float:
    residual = float(((y - (slope * x + intercept)) ** 2).sum())
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - residual / total if total else 1.0


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1


def _load_avg() -> tuple[float, ...]:
    import os

    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        return ()
