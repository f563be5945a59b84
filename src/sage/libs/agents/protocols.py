"""The model-call surface agent strategies need; ``LLMClient`` satisfies it."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ChatClient(Protocol):
    def chat(
        self,
        messages: list[dict[str, str]] | str,
        *,
        max_tokens: int = 128,
        temperature: float = 0.0,
        **extra: Any,
    ) -> str: ...


@runtime_checkable
class EmbedClient(Protocol):
    def embed(self, texts: list[str]) -> list[list[float]]: ...


@runtime_checkable
class ModelClient(ChatClient, EmbedClient, Protocol):
    """Chat + embeddings, e.g. ``LLMClient`` pointed at the SAGE gateway."""
