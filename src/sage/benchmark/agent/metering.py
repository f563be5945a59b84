"""Wrap the injected client to count LLM calls and tokens per item.

Tokens come from the server's ``usage`` when the client counts it (``LLMClient``'s
``tokens_used``); otherwise they are estimated at ~4 characters per token and flagged
as estimated."""

from __future__ import annotations

import math
from typing import Any


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


class MeteredClient:
    """Same ``chat``/``embed`` surface; ``tokens`` / ``calls`` accumulate until ``reset``."""

    def __init__(self, client: Any) -> None:
        self.inner = client
        self.tokens = 0
        self.calls = 0
        self.estimated = False

    def reset(self) -> None:
        self.tokens = 0
        self.calls = 0
        self.estimated = False

    def chat(
        self,
        messages: list[dict[str, str]] | str,
        *,
        max_tokens: int = 128,
        temperature: float = 0.0,
        **extra: Any,
    ) -> str:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        self.calls += 1
        before = getattr(self.inner, "tokens_used", None)
        text = self.inner.chat(messages, max_tokens=max_tokens, temperature=temperature, **extra)
        if before is not None and self.inner.tokens_used > before:
            self.tokens += self.inner.tokens_used - before
            return text
        self.estimated = True
        prompt = " ".join(m.get("content", "") for m in messages)
        self.tokens += estimate_tokens(prompt) + estimate_tokens(text)
        return text

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed(texts)


class LocalEmbedder:
    """sentence-transformers on the default embedding model, for runs without a
    gateway (``--embeddings local``); same ``embed`` surface as ``LLMClient``."""

    def __init__(self, model_path: str | None = None) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        from sage.common.models import default_embedding_path

        path = model_path or default_embedding_path()
        if path is None:
            raise RuntimeError("no default embedding model installed")
        self.model = SentenceTransformer(str(path), device="cpu")

    def embed(self, texts: list[str]) -> list[list[float]]:
        vecs = self.model.encode(list(texts), batch_size=64, show_progress_bar=False)
        return [v.tolist() for v in vecs]
