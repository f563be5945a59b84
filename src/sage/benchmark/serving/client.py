"""One benchmark request over OpenAI HTTP (async httpx), timed the way vLLM times it.

Chat requests stream (SSE) so TTFT and every inter-token gap are observed; embeddings
are one POST. Scheduling hints go in the gateway's headers (``X-SAGE-Tenant``,
``X-SAGE-Priority``, ``X-SAGE-Deadline-Ms``); engines called directly ignore them.
A 429 is a rejection (admission control said no), anything else that is not a
complete 200 is an error; both are kept, never dropped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from sage.benchmark.serving.metrics import ERROR, OK, REJECTED
from sage.common.ports import CLIENT_POOL_IDLE_S

# Open-loop load: no cap on connections (a cap would queue requests in the client, where
# the server's queueing should show), and idle ones dropped before servers close them.
POOL_LIMITS = httpx.Limits(
    max_connections=None, max_keepalive_connections=256, keepalive_expiry=CLIENT_POOL_IDLE_S
)

TENANT_HEADER = "x-sage-tenant"
ENGINE_HEADER = "x-sage-engine"
PRIORITY_HEADER = "x-sage-priority"
DEADLINE_HEADER = "x-sage-deadline-ms"


@dataclass
class RequestRecord:
    """What the client saw of one request; times in seconds (``sent`` from run start)."""

    index: int
    kind: int
    tenant: str
    scheduled: float
    sent: float = float("nan")
    status: int = 0
    outcome: int = ERROR
    ttft: float = float("nan")
    e2e: float = float("nan")
    itl: list[float] = field(default_factory=list)
    output_tokens: int = 0
    input_tokens: int = 0
    max_tokens: int = 0
    prompt_tokens: int = 0  # planned: chat prompt, or tokens per embedding input
    cached_tokens: int = 0  # usage.prompt_tokens_details.cached_tokens (engine's prefix cache)
    prefix: int = -1  # the workload's shared prefix id (-1: none) and its planned tokens
    prefix_tokens: int = 0
    n_inputs: int = 1
    error: str = ""
    answer: str = ""  # the chat's text (a multi-turn session sends it back next turn)
    engine: str = ""  # the engine that served it (the gateway's x-sage-engine header)


def scheduling_headers(
    tenant: str, priority: int, deadline_ms: float | None, api_key: str | None = None
) -> dict[str, str]:
    headers = {TENANT_HEADER: tenant, PRIORITY_HEADER: str(priority)}
    if deadline_ms is not None:
        headers[DEADLINE_HEADER] = f"{deadline_ms:g}"
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


def _classify(record: RequestRecord, status: int, body: bytes) -> None:
    record.status = status
    record.outcome = REJECTED if status == 429 else ERROR
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = body[:200].decode(errors="replace")
    record.error = f"HTTP {status}: {message}"


async def send_chat(
    client: httpx.AsyncClient,
    base_url: str,
    model: str,
    prompt: str | list[dict[str, str]],
    record: RequestRecord,
    headers: dict[str, str],
    seed: int,
) -> None:
    """Stream one chat completion into ``record`` (TTFT, ITLs, tokens, e2e); ``prompt``
    is the user's text or the whole message list."""
    body: dict[str, Any] = {
        "model": model,
        "messages": as_messages(prompt),
        "max_tokens": record.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        "seed": seed,
    }
    start = time.perf_counter()
    last = start
    tokens = 0
    usage: dict[str, Any] | None = None
    text: list[str] = []
    try:
        async with client.stream(
            "POST", base_url + "/v1/chat/completions", json=body, headers=headers
        ) as response:
            if response.status_code != 200:
                _classify(record, response.status_code, await response.aread())
                return
            record.status = 200
            record.engine = response.headers.get(ENGINE_HEADER, "")
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                now = time.perf_counter()
                chunk = json.loads(data)
                if "error" in chunk:
                    record.error = f"in-stream error: {chunk['error'].get('message', '')}"
                    return
                choices = chunk.get("choices") or ()
                if choices and (piece := (choices[0].get("delta") or {}).get("content")):
                    text.append(piece)
                    if tokens == 0:
                        record.ttft = now - start
                    else:
                        record.itl.append(now - last)
                    tokens += 1
                    last = now
                if chunk.get("usage"):
                    usage = chunk["usage"]
    except (httpx.HTTPError, ValueError) as exc:
        record.error = f"{type(exc).__name__}: {exc}"
        return
    usage = usage or {}
    finish_stream(record, start, tokens, usage.get("completion_tokens"), usage.get("prompt_tokens"))
    record.cached_tokens = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    record.answer = "".join(text) if record.outcome == OK else ""


def as_messages(prompt: str | list[dict[str, str]]) -> list[dict[str, str]]:
    return prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]


def finish_stream(
    record: RequestRecord,
    start: float,
    tokens: int,
    completion_tokens: int | None,
    prompt_tokens: int | None,
) -> None:
    """Close a streamed chat's record: the engine's token counts where it sent them
    (``include_usage``), else the streamed chunks; a stream without a token failed."""
    record.e2e = time.perf_counter() - start
    record.output_tokens = int(completion_tokens) if completion_tokens is not None else tokens
    if prompt_tokens:
        record.input_tokens = int(prompt_tokens)
    if tokens == 0:
        record.error = "the stream ended without a token"
        return
    record.outcome = OK


async def send_embedding(
    client: httpx.AsyncClient,
    base_url: str,
    model: str,
    texts: list[str],
    record: RequestRecord,
    headers: dict[str, str],
) -> None:
    """One ``/v1/embeddings`` call into ``record`` (e2e, tokens the engine counted)."""
    start = time.perf_counter()
    try:
        response = await client.post(
            base_url + "/v1/embeddings", json={"model": model, "input": texts}, headers=headers
        )
    except httpx.HTTPError as exc:
        record.error = f"{type(exc).__name__}: {exc}"
        return
    if response.status_code != 200:
        _classify(record, response.status_code, response.content)
        return
    record.e2e = time.perf_counter() - start
    record.status = 200
    record.engine = response.headers.get(ENGINE_HEADER, "")
    try:
        payload = response.json()
        if len(payload["data"]) != len(texts):
            record.error = f"{len(payload['data'])} embeddings for {len(texts)} inputs"
            return
        tokens = (payload.get("usage") or {}).get("prompt_tokens")
    except (ValueError, KeyError, TypeError) as exc:
        record.error = f"bad embedding reply: {exc}"
        return
    if tokens:
        record.input_tokens = int(tokens)
    record.outcome = OK


async def discover_model(client: httpx.AsyncClient, base_url: str) -> str:
    """The first model ``base_url`` serves, or ``"default"`` (the gateway's alias)."""
    try:
        response = await client.get(base_url + "/v1/models")
        data = response.json().get("data") or []
        if response.status_code == 200 and data:
            return str(data[0]["id"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return "default"
