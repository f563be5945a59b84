"""The same benchmark requests through the official ``openai`` SDK (``--client openai``).

What most applications run is the SDK, not raw HTTP: its parsing, retries (off here:
a retry would hide a 429) and pydantic models cost client CPU and can shift TTFT. The
records are filled exactly as :mod:`sage.benchmark.serving.client` fills them, so runs
with either client are compared by the same metrics.
"""

from __future__ import annotations

import time
from typing import Any

import openai

from sage.benchmark.serving.client import POOL_LIMITS, RequestRecord, as_messages, finish_stream
from sage.benchmark.serving.metrics import OK, REJECTED


def sdk_client(base_url: str, api_key: str | None, timeout_s: float) -> openai.AsyncOpenAI:
    """An SDK client for a SAGE-style base URL (no ``/v1``); the key goes in its header."""
    return openai.AsyncOpenAI(
        base_url=base_url.rstrip("/") + "/v1",
        api_key=api_key or "unused",
        max_retries=0,
        timeout=timeout_s,
        http_client=openai.DefaultAsyncHttpxClient(limits=POOL_LIMITS),
    )


def _classify(record: RequestRecord, exc: openai.OpenAIError) -> None:
    status = getattr(exc, "status_code", 0) or 0
    record.status = status
    record.outcome = REJECTED if status == 429 else record.outcome
    message = getattr(exc, "message", None) or str(exc)
    record.error = f"HTTP {status}: {message}" if status else f"{type(exc).__name__}: {message}"


async def sdk_chat(
    client: openai.AsyncOpenAI,
    model: str,
    prompt: str | list[dict[str, str]],
    record: RequestRecord,
    headers: dict[str, str],
    seed: int,
) -> None:
    """Stream one chat completion into ``record`` (TTFT, ITLs, tokens, e2e)."""
    start = time.perf_counter()
    last = start
    tokens = 0
    usage: Any = None
    try:
        stream = await client.chat.completions.create(
            model=model,
            messages=as_messages(prompt),  # type: ignore[arg-type]
            max_tokens=record.max_tokens,
            stream=True,
            stream_options={"include_usage": True},
            seed=seed,
            extra_headers=headers,
        )
        record.status = 200
        async for chunk in stream:
            now = time.perf_counter()
            if chunk.choices and chunk.choices[0].delta.content:
                if tokens == 0:
                    record.ttft = now - start
                else:
                    record.itl.append(now - last)
                tokens += 1
                last = now
            if chunk.usage is not None:
                usage = chunk.usage
    except openai.OpenAIError as exc:
        _classify(record, exc)
        return
    finish_stream(
        record,
        start,
        tokens,
        usage.completion_tokens if usage is not None else None,
        usage.prompt_tokens if usage is not None else None,
    )
    details = getattr(usage, "prompt_tokens_details", None)
    record.cached_tokens = int(getattr(details, "cached_tokens", 0) or 0)


async def sdk_embedding(
    client: openai.AsyncOpenAI,
    model: str,
    texts: list[str],
    record: RequestRecord,
    headers: dict[str, str],
) -> None:
    """One embeddings call into ``record`` (e2e, tokens the engine counted)."""
    start = time.perf_counter()
    try:
        reply = await client.embeddings.create(model=model, input=texts, extra_headers=headers)
    except openai.OpenAIError as exc:
        _classify(record, exc)
        return
    record.e2e = time.perf_counter() - start
    record.status = 200
    if len(reply.data) != len(texts):
        record.error = f"{len(reply.data)} embeddings for {len(texts)} inputs"
        return
    if reply.usage is not None and reply.usage.prompt_tokens:
        record.input_tokens = int(reply.usage.prompt_tokens)
    record.outcome = OK
