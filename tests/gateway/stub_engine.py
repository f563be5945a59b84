"""A tiny OpenAI-protocol engine stub for dispatcher and fault tests (real HTTP).

Run as ``python -m tests.gateway.stub_engine --port N [--delay S] [--kind both]``;
``GET /stats`` reports the calls it got (e.g. embedding batch sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def make_app(model: str, embed_model: str, delay: float, tokens: int) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    stats: dict[str, Any] = {
        "chat": 0,
        "completion": 0,
        "embedding_calls": 0,
        "embedding_batches": [],
        "pid": os.getpid(),
    }

    async def chat(request: Request) -> Any:
        body = await request.json()
        stats["chat"] += 1
        await asyncio.sleep(body.get("delay", delay))
        if body.get("stream"):

            async def events() -> AsyncIterator[bytes]:
                for i in range(tokens):
                    chunk = {
                        "id": "c1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": model,
                        "choices": [
                            {"index": 0, "delta": {"content": f"t{i} "}, "finish_reason": None}
                        ],
                    }
                    yield f"data: {json.dumps(chunk)}\n\n".encode()
                    await asyncio.sleep(body.get("token_delay", 0.0))
                last = {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    "usage": {
                        "prompt_tokens": 3,
                        "completion_tokens": tokens,
                        "total_tokens": 3 + tokens,
                    },
                }
                yield f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode()

            return StreamingResponse(events(), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "hello"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
            }
        )

    async def completion(request: Request) -> Any:
        await request.json()
        stats["completion"] += 1
        await asyncio.sleep(delay)
        return JSONResponse(
            {
                "id": "x1",
                "object": "text_completion",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "text": "done", "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    async def embeddings(request: Request) -> Any:
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        stats["embedding_calls"] += 1
        stats["embedding_batches"].append(len(inputs))
        await asyncio.sleep(delay)
        data = [
            {"object": "embedding", "index": i, "embedding": vector(text)}
            for i, text in enumerate(inputs)
        ]
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": embed_model,
                "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
            }
        )

    async def models(_: Request) -> Any:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": model, "object": "model"}, {"id": embed_model, "object": "model"}],
            }
        )

    async def health(_: Request) -> Any:
        return JSONResponse({"status": "ok"})

    async def get_stats(_: Request) -> Any:
        return JSONResponse(stats)

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/completions", completion, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/models", models),
            Route("/health", health),
            Route("/stats", get_stats),
        ]
    )


def vector(text: str, dim: int = 8) -> list[float]:
    """A deterministic fake embedding of ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 255 for b in digest[:dim]]


@contextmanager
def stub_engine(
    port: int,
    *,
    delay: float = 0.0,
    tokens: int = 5,
    model: str = "stub-llm",
    embed_model: str = "stub-embed",
) -> Iterator[subprocess.Popen[bytes]]:
    """Run the stub in a subprocess on ``port``; yields the process (kill it to fault)."""
    cmd = [
        sys.executable,
        "-m",
        "tests.gateway.stub_engine",
        "--port",
        str(port),
        "--delay",
        str(delay),
        "--tokens",
        str(tokens),
        "--model",
        model,
        "--embed-model",
        embed_model,
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"stub engine exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not come up")


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--tokens", type=int, default=5)
    parser.add_argument("--model", default="stub-llm")
    parser.add_argument("--embed-model", default="stub-embed")
    args = parser.parse_args()
    app = make_app(args.model, args.embed_model, args.delay, args.tokens)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
