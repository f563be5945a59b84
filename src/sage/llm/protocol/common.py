"""What every generation endpoint shares: the body base and OpenAI's sampling fields,
plus the vLLM extensions clients such as GuideLLM send (``ignore_eos``, ``top_k``...)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_N = 16  # choices per request: each one is a full generation
MAX_STOP = 16  # stop sequences per request
MAX_LOGPROBS = 20  # OpenAI's own cap on top_logprobs


def as_items(value: str | list[Any]) -> list[Any]:
    """One item per prompt or input: a text, or a list of token ids (a flat list of
    ints is one item, a list of texts or of id lists is one item each)."""
    if isinstance(value, str):
        return [value]
    if value and isinstance(value[0], int):
        return [list(value)]
    return list(value)


class OpenAIObject(BaseModel):
    """Strict types (``"1"`` for an int is a 400); unknown fields are kept, as OpenAI
    clients send many (``user``, ``metadata``...) and external engines may use them."""

    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)


class OpenAIBody(OpenAIObject):
    """A request body."""

    model: str | None = None
    user: str | None = None


class StreamOptions(OpenAIObject):
    """``include_usage`` absent: SAGE sends the usage chunk (its long-standing default);
    ``false``: none, as OpenAI."""

    include_usage: bool = True


class SamplingParams(OpenAIBody):
    """Fields of both ``/v1/chat/completions`` and ``/v1/completions``."""

    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    n: int = Field(1, ge=1, le=MAX_N)
    stop: str | list[str] | None = Field(None, max_length=MAX_STOP)
    seed: int | None = None
    presence_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = Field(None, max_length=1024)
    stream: bool = False
    stream_options: StreamOptions | None = None
    # vLLM's extensions
    ignore_eos: bool = False
    top_k: int | None = Field(None, ge=-1)
    min_p: float | None = Field(None, ge=0.0, le=1.0)
    repetition_penalty: float | None = Field(None, gt=0.0, le=2.0)

    @property
    def token_limit(self) -> int | None:
        return self.max_tokens

    def token_budget(self, default: int = 128) -> int:
        """Tokens this request may generate in all, for admission and scheduling."""
        return (self.token_limit or default) * self.n

    @property
    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else [s for s in self.stop if s]

    @property
    def include_usage(self) -> bool:
        return self.stream_options is None or self.stream_options.include_usage

    def extra_fields(self) -> dict[str, Any]:
        """Fields outside the protocol (kept for external engines)."""
        return dict(self.model_extra or {})
