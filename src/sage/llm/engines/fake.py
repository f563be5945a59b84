"""A fake OpenAI engine over real HTTP, for gateway-overhead and fault tests only.

Answers chat/completions (streaming too, with a configurable token count and per-token
delay) and embeddings (deterministic unit vectors from a hash of the text) at once,
with optional latency. Faults on demand: a request (header ``X-Fake-Die-After-Tokens: N``
or body field ``"fake": {"die_after_tokens": N}``), ``--die-after-requests`` or
``POST /fake/config`` make the process exit mid-request, like a crashed engine.

Run: ``python -m sage.llm.engines.fake --port 8001 [--token-delay-ms 5]``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from sage.llm.engines.server import base_parser, check_can_serve, create_engine_app, serve
from sage.llm.openai_errors import OpenAIError, validation_error
from sage.llm.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest
from sage.llm.request_body import parse_body
from sage.llm.sse import SSE_HEADERS, sse_stream

DEFAULT_LLM_MODEL = "fake-llm"
DEFAULT_EMBEDDING_MODEL = "fake-embedding"


class FakeBehaviour(BaseModel):
    """What the fake engine does; change it at run time with ``POST /fake/config``."""

    latency_ms: float = Field(0.0, ge=0)  # before the first byte of any answer
    tokens: int = Field(16, ge=0)  # completion length unless max_tokens is smaller
    token_delay_ms: float = Field(0.0, ge=0)
    dim: int = Field(384, ge=1)
    die_after_tokens: int | None = Field(None, ge=0)  # next generation request exits
    die_after_requests: int | None = Field(None, ge=1)  # the N-th request exits
    fail_status: int | None = Field(None, ge=400, le=599)  # answer every call with this


def fake_vector(text: str, dim: int) -> list[float]:
    """A unit vector that depends only on ``text``: equal texts, equal vectors."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vec = np.random.default_rng(seed).standard_normal(dim)
    return (vec / np.linalg.norm(vec)).astype("float32").tolist()


def _die() -> None:
    os._exit(17)  # no cleanup, like a segfault or OOM kill


class FakeEngine:
    """Behaviour plus the counters ``/health`` reports (what tests check batching with)."""

    def __init__(self, behaviour: FakeBehaviour, llm_model: str, embedding_model: str) -> None:
        self.behaviour = behaviour
        self.llm_model = llm_model
        self.embedding_model = embedding_model
        self.requests = 0
        self.embedding_calls = 0
        self.embedding_inputs = 0
        self.max_embedding_batch = 0

    def stats(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "embedding_calls": self.embedding_calls,
            "embedding_inputs": self.embedding_inputs,
            "max_embedding_batch": self.max_embedding_batch,
        }

    def per_request(self, request: Request, body: BaseModel) -> tuple[FakeBehaviour, int | None]:
        """Behaviour for one request (headers and the ``fake`` body field override)."""
        self.requests += 1
        b = self.behaviour
        overrides: dict[str, Any] = dict(getattr(body, "model_extra", None) or {}).get("fake") or {}
        for key in ("latency_ms", "tokens", "token_delay_ms", "die_after_tokens"):
            header = request.headers.get("x-fake-" + key.replace("_", "-"))
            if header is not None:
                overrides[key] = header
        try:
            merged = (
                FakeBehaviour.model_validate({**b.model_dump(), **overrides}) if overrides else b
            )
        except (TypeError, ValueError) as exc:
            raise OpenAIError(400, f"bad fake overrides: {exc}", param="fake") from None
        die_at = merged.die_after_tokens
        if b.die_after_tokens is not None:
            self.behaviour = b.model_copy(update={"die_after_tokens": None})  # armed once
        if b.die_after_requests is not None and self.requests >= b.die_after_requests:
            die_at = 0 if die_at is None else die_at
        if merged.fail_status:
            raise OpenAIError(merged.fail_status, "fake engine failure", code="fake_failure")
        return merged, die_at


def create_app(engine: FakeEngine, api_key: str | None = None) -> FastAPI:
    app = create_engine_app(
        "SAGE fake engine",
        lambda: [engine.llm_model, engine.embedding_model],
        api_key,
        stats=engine.stats,
        kinds={engine.llm_model: ["llm"], engine.embedding_model: ["embedding"]},
    )

    @app.post("/fake/config")
    async def configure(update: dict[str, Any]) -> dict[str, Any]:
        try:
            engine.behaviour = FakeBehaviour.model_validate(
                {**engine.behaviour.model_dump(), **update}
            )
        except ValidationError as exc:
            raise validation_error(exc.errors()) from None
        return engine.behaviour.model_dump()

    async def generate(request: Request, chat: bool) -> Response:
        schema = ChatCompletionRequest if chat else CompletionRequest
        _, body = await parse_body(request, schema)
        b, die_at = engine.per_request(request, body)
        if b.latency_ms:
            await asyncio.sleep(b.latency_ms / 1000)
        n = min(b.tokens, body.token_limit) if body.token_limit else b.tokens
        prompt = (
            " ".join(m.text() for m in body.messages)
            if isinstance(body, ChatCompletionRequest)
            else body.prompt_text
        )
        prompt_tokens = len(prompt.split())
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": n,
            "total_tokens": prompt_tokens + n,
            "prompt_tokens_details": {"cached_tokens": 0},  # no prefix cache here
        }
        rid = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        model = body.model or engine.llm_model
        finish = "length" if body.token_limit is not None and n == body.token_limit else "stop"
        tokens = [f"tok{i} " for i in range(n)]
        if die_at == 0:
            _die()
        if not body.stream:
            for i in range(n):
                if die_at is not None and i >= die_at:
                    _die()
                if b.token_delay_ms:
                    await asyncio.sleep(b.token_delay_ms / 1000)
            text = "".join(tokens)
            choice: dict[str, Any] = (
                {"index": 0, "message": {"role": "assistant", "content": text}}
                if chat
                else {"index": 0, "text": text}
            )
            return JSONResponse(
                {
                    "id": rid,
                    "object": "chat.completion" if chat else "text_completion",
                    "created": created,
                    "model": model,
                    "choices": [{**choice, "logprobs": None, "finish_reason": finish}],
                    "usage": usage,
                }
            )

        def chunk(text: str | None, reason: str | None) -> dict[str, Any]:
            if chat:
                delta: dict[str, Any] = {} if text is None else {"content": text}
                c: dict[str, Any] = {"index": 0, "delta": delta}
            else:
                c = {"index": 0, "text": text or ""}
            return {
                "id": rid,
                "object": "chat.completion.chunk" if chat else "text_completion",
                "created": created,
                "model": model,
                "choices": [{**c, "logprobs": None, "finish_reason": reason}],
            }

        async def chunks() -> AsyncIterator[dict[str, Any]]:
            if chat:
                yield {**chunk(None, None), "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": ""},
                     "logprobs": None, "finish_reason": None}
                ]}  # fmt: skip
            for i, token in enumerate(tokens):
                if die_at is not None and i >= die_at:
                    await asyncio.sleep(0.05)  # let the sent chunks reach the client
                    _die()
                if b.token_delay_ms:
                    await asyncio.sleep(b.token_delay_ms / 1000)
                yield chunk(token, None)
            yield chunk(None if chat else "", finish)
            yield {**chunk(None, None), "choices": [], "usage": usage}  # OpenAI's usage chunk

        return StreamingResponse(
            sse_stream(chunks()), media_type="text/event-stream", headers=SSE_HEADERS
        )

    async def chat_completions(request: Request) -> Response:
        return await generate(request, True)

    async def completions(request: Request) -> Response:
        return await generate(request, False)

    async def embeddings(request: Request) -> Response:
        _, body = await parse_body(request, EmbeddingRequest)
        b, die_at = engine.per_request(request, body)
        if die_at is not None:
            _die()
        if b.latency_ms:
            await asyncio.sleep(b.latency_ms / 1000)
        texts = body.texts
        engine.embedding_calls += 1
        engine.embedding_inputs += len(texts)
        engine.max_embedding_batch = max(engine.max_embedding_batch, len(texts))
        tokens = sum(len(t.split()) for t in texts)
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {
                        "object": "embedding",
                        "index": i,
                        "embedding": body.encode(fake_vector(t, b.dim)),
                    }
                    for i, t in enumerate(texts)
                ],
                "model": body.model or engine.embedding_model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    # Plain Starlette routes: no per-request dependency solving, so the fake stays much
    # faster than the gateway it is used to measure.
    app.add_route("/v1/chat/completions", chat_completions, methods=["POST"])
    app.add_route("/v1/completions", completions, methods=["POST"])
    app.add_route("/v1/embeddings", embeddings, methods=["POST"])
    return app


def main() -> None:
    parser = base_parser("SAGE fake OpenAI engine (tests and overhead benchmarks)")
    parser.add_argument("--embedding-model", default=DEFAULT_EMBEDDING_MODEL)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--token-delay-ms", type=float, default=0.0)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--die-after-requests", type=int, default=None)
    args = parser.parse_args()
    check_can_serve(parser, args)
    behaviour = FakeBehaviour(
        latency_ms=args.latency_ms,
        tokens=args.tokens,
        token_delay_ms=args.token_delay_ms,
        dim=args.dim,
        die_after_requests=args.die_after_requests,
    )
    engine = FakeEngine(behaviour, args.model or DEFAULT_LLM_MODEL, args.embedding_model)
    serve(create_app(engine, args.api_key), args)


if __name__ == "__main__":
    main()
