"""A fast fake OpenAI engine (real HTTP, canned replies) to measure gateway overhead.

Used only when the engine package offers no fake engine of its own.
Run: ``python -m sage.benchmark.gateway.fake_engine --port N``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

CHAT_REPLY = json.dumps(
    {
        "id": "fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-llm",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
).encode()


def make_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def chat(request: Request) -> Response:
        await request.body()
        return Response(CHAT_REPLY, media_type="application/json")

    async def embeddings(request: Request) -> Response:
        body = json.loads(await request.body())
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": [0.0] * 8} for i in range(len(inputs))
        ]
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": "fake-embed",
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )

    async def models(_: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": "fake-llm", "object": "model"},
                    {"id": "fake-embed", "object": "model"},
                ],
            }
        )

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/models", models),
            Route("/health", health),
        ]
    )


def start_fake_engine(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sage.benchmark.gateway.fake_engine", "--port", str(port)]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(make_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
