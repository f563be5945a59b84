"""``POST /v1/completions``: one prompt or a list (text or token ids)."""

from __future__ import annotations

from pydantic import Field, field_validator

from sage.llm.protocol.common import MAX_LOGPROBS, SamplingParams, as_items

MAX_PROMPTS = 64

Prompt = str | list[str] | list[int] | list[list[int]]


class CompletionRequest(SamplingParams):
    prompt: Prompt
    max_tokens: int | None = Field(16, ge=1)  # OpenAI's default for completions
    echo: bool = False
    logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)
    best_of: int | None = Field(None, ge=1, le=MAX_PROMPTS)
    suffix: str | None = None

    @field_validator("prompt")
    @classmethod
    def _prompts_present(cls, value: Prompt) -> Prompt:
        if isinstance(value, list):
            if not value:
                raise ValueError("prompt must not be an empty list")
            if len(value) > MAX_PROMPTS and not isinstance(value[0], int):
                raise ValueError(f"at most {MAX_PROMPTS} prompts per request")
            if any(isinstance(p, list) and not p for p in value):
                raise ValueError("prompt must not contain an empty token list")
        return value

    @property
    def prompts(self) -> list[str | list[int]]:
        """Each prompt of the request: a text or a list of token ids."""
        return as_items(self.prompt)

    @property
    def prompt_text(self) -> str:
        """The first prompt as text (token ids shown as numbers): for simple engines."""
        first = self.prompts[0]
        return first if isinstance(first, str) else " ".join(map(str, first))

    def token_budget(self, default: int = 16) -> int:
        return (self.token_limit or default) * self.n * len(self.prompts)

    def prompt_chars(self) -> int:
        return sum(len(p) if isinstance(p, str) else 4 * len(p) for p in self.prompts)
