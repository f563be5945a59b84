"""Minimal real engines (llama-cpp, sentence-transformers) behind OpenAI HTTP, used by
``gateway_url`` only when the engine package's ``real_engines`` fixture is unavailable.

Run: ``python -m tests.gateway.fallback_engines --kind llm|embedding --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.gateway.stub_engine import ROOT, wait_ready


@dataclass
class FallbackEngineInfo:
    """Shaped like the engine manager's ``EngineInfo``."""

    id: str
    kind: str
    model: str
    url: str
    capacity: int = 1
    max_batch: int = 64
    healthy: bool = True


def llm_app(path: str, name: str) -> Any:
    from llama_cpp import Llama
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    # n_ubatch=1: multi-token batches crash in ggml's AMX path on this CPU (SIGSEGV).
    llm = Llama(model_path=path, n_ctx=2048, n_ubatch=1, verbose=False)
    lock = threading.Lock()

    async def generate(body: dict[str, Any], chat: bool) -> Any:
        args = {k: body[k] for k in ("max_tokens", "temperature", "top_p", "stop") if k in body}
        if chat:

            def call(**kw: Any) -> Any:
                return llm.create_chat_completion(messages=body["messages"], **kw)
        else:

            def call(**kw: Any) -> Any:
                return llm.create_completion(prompt=body["prompt"], **kw)

        if not body.get("stream"):

            def run() -> Any:
                with lock:
                    return call(**args)

            out = await asyncio.to_thread(run)
            out["model"] = name
            return JSONResponse(out)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def produce() -> None:
            with lock:
                count = 0
                for chunk in call(stream=True, **args):
                    chunk["model"] = name
                    if chunk["choices"][0].get("finish_reason") is None:
                        count += 1
                    else:
                        chunk["usage"] = {
                            "prompt_tokens": 0,
                            "completion_tokens": count,
                            "total_tokens": count,
                        }
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
            loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=produce, daemon=True).start()

        async def events() -> AsyncIterator[bytes]:
            while (chunk := await queue.get()) is not None:
                yield f"data: {json.dumps(chunk)}\n\n".encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def chat(request: Request) -> Any:
        return await generate(await request.json(), True)

    async def completion(request: Request) -> Any:
        return await generate(await request.json(), False)

    return [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/completions", completion, methods=["POST"]),
    ], Starlette


def embedding_app(path: str, name: str) -> Any:
    from sentence_transformers import SentenceTransformer
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    model = SentenceTransformer(path, device="cpu")

    async def embeddings(request: Request) -> Any:
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = await asyncio.to_thread(model.encode, inputs, batch_size=64)
        data = [
            {"object": "embedding", "index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ]
        tokens = sum(len(t.split()) for t in inputs)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    return [Route("/v1/embeddings", embeddings, methods=["POST"])], Starlette


def main() -> None:
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from sage.common.models import (
        DEFAULT_EMBED_NAME,
        DEFAULT_LLM_NAME,
        default_embedding_path,
        default_llm_path,
    )

    threading.stack_size(64 * 1024 * 1024)  # llama.cpp needs a deep stack off the main thread
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=("llm", "embedding"), required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.kind == "llm":
        name = DEFAULT_LLM_NAME
        routes, starlette = llm_app(str(default_llm_path()), name)
    else:
        name = DEFAULT_EMBED_NAME
        routes, starlette = embedding_app(str(default_embedding_path()), name)

    async def models(_: Request) -> Any:
        return JSONResponse({"object": "list", "data": [{"id": name, "object": "model"}]})

    async def health(_: Request) -> Any:
        return JSONResponse({"status": "ok"})

    app = starlette(routes=[*routes, Route("/v1/models", models), Route("/health", health)])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


@contextmanager
def fallback_engines() -> Iterator[list[FallbackEngineInfo]]:
    """An LLM and an embedding engine on ephemeral ports, stopped on exit."""
    from sage.common.models import DEFAULT_EMBED_NAME, DEFAULT_LLM_NAME
    from sage.common.ports import ephemeral_port

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    infos: list[FallbackEngineInfo] = []
    try:
        for kind, name in (("llm", DEFAULT_LLM_NAME), ("embedding", DEFAULT_EMBED_NAME)):
            port = ephemeral_port()
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.gateway.fallback_engines",
                        "--kind",
                        kind,
                        "--port",
                        str(port),
                    ],
                    cwd=ROOT,
                    env=env,
                )
            )
            infos.append(FallbackEngineInfo(f"{kind}-0", kind, name, f"http://127.0.0.1:{port}"))
        start = time.monotonic()
        for proc, info in zip(procs, infos, strict=True):
            wait_ready(info.url, proc, timeout=max(5.0, 120 - (time.monotonic() - start)))
        yield infos
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
