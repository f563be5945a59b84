"""Request bodies the gateway accepts, validated strictly (wrong types are a 400).

Unknown fields are kept and passed to the engine, as OpenAI clients send many.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sage.llm.control_plane.engines import normalize_url
from sage.llm.engines.spec import EngineSpec


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")

    model: str | None = None
    user: str | None = None


class _Generation(_Body):
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    n: int | None = Field(None, ge=1, le=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    stop: str | list[str] | None = None

    def token_budget(self, default: int = 128) -> int:
        return self.max_completion_tokens or self.max_tokens or default


class ChatMessage(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")

    role: str = Field(min_length=1)
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(_Generation):
    messages: list[ChatMessage] = Field(min_length=1)

    def prompt_chars(self) -> int:
        total = 0
        for message in self.messages:
            if isinstance(message.content, str):
                total += len(message.content)
            elif message.content:
                total += sum(len(str(part.get("text", ""))) for part in message.content)
        return total


class CompletionRequest(_Generation):
    prompt: str | list[str]

    @field_validator("prompt")
    @classmethod
    def _not_empty_list(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("prompt must not be an empty list")
        return value

    def prompt_chars(self) -> int:
        return len(self.prompt) if isinstance(self.prompt, str) else sum(map(len, self.prompt))


class EmbeddingRequest(_Body):
    input: str | list[str]
    encoding_format: str | None = Field(None, pattern="^(float|base64)$")
    dimensions: int | None = Field(None, ge=1)

    @field_validator("input")
    @classmethod
    def _inputs_present(cls, value: str | list[str]) -> str | list[str]:
        items = [value] if isinstance(value, str) else value
        if not items:
            raise ValueError("input must not be empty")
        if any(not item for item in items):
            raise ValueError("input must not contain empty strings")
        return value

    def inputs(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class EngineRegistration(BaseModel):
    """``POST /admin/engines``: an external OpenAI-compatible engine by URL."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://")
    kind: Literal["llm", "embedding", "both"] = "llm"
    models: list[str] = Field(default_factory=list)
    model: str | None = None
    id: str | None = Field(None, min_length=1)
    capacity: int | None = Field(None, ge=1, le=1024, description="default: by kind")
    max_batch: int = Field(64, ge=1, le=4096)
    api_key: str | None = Field(None, description="sent to the engine, never shown again")

    def to_spec(self) -> EngineSpec:
        names = ([self.model] if self.model else []) + self.models
        given = {"capacity": self.capacity} if self.capacity is not None else {}
        return EngineSpec(
            kind=self.kind,
            backend="external",
            url=normalize_url(self.url),
            model=names[0] if names else "",
            aliases=names[1:],
            max_batch=self.max_batch,
            api_key=self.api_key,
            **given,
        )


class PolicyChange(BaseModel):
    """``POST /admin/policy``: switch the scheduling policy by name.

    ``options`` are merged over the ones the policy had; ``reset`` drops those first.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    options: dict[str, Any] = Field(default_factory=dict)
    reset: bool = False
