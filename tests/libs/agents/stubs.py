"""A deterministic stand-in for the model client: hashed bag-of-words embeddings and
scripted chat replies (records every prompt)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

DIM = 64


def _bucket(word: str) -> int:
    return int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM


class StubClient:
    def __init__(self, reply: str | Callable[[list[dict[str, str]]], str] = "yes") -> None:
        self.reply = reply
        self.prompts: list[list[dict[str, str]]] = []
        self.embedded = 0

    def chat(
        self, messages: Any, *, max_tokens: int = 128, temperature: float = 0.0, **extra: Any
    ) -> str:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        self.prompts.append(messages)
        return self.reply(messages) if callable(self.reply) else self.reply

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        out = []
        for text in texts:
            v = [0.0] * DIM
            for w in re.findall(r"[a-z]+", text.lower()):
                v[_bucket(w)] += 1.0
            out.append(v)
        return out
