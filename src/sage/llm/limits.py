"""Per-request input limits (``security.limits``), checked before any tokenizing.

The gateway and the engines apply the same :class:`~sage.common.security.InputLimits`,
so a request that fits the gateway fits the engine, and a tiny body cannot ask for
gigabytes (40,000 embedding inputs) or hold an engine slot for minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sage.common.security import InputLimits
from sage.llm.openai_errors import OpenAIError


def default_limits() -> InputLimits:
    from sage.common.config import get_settings

    return get_settings().security.limits


def content_chars(content: Any) -> int:
    """Characters of a message ``content``: a string or OpenAI content parts."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(  # dicts, or sage.llm.protocol's ContentPart models
            len((part.get("text") if isinstance(part, dict) else getattr(part, "text", "")) or "")
            for part in content
        )
    return 0


def _too_large(what: str, count: int, limit: int, setting: str, param: str) -> OpenAIError:
    return OpenAIError(
        400,
        f"{what}: {count} is over the limit of {limit} (security.limits.{setting})",
        code="input_too_large",
        param=param,
    )


def check_chars(chars: int, limits: InputLimits, param: str) -> None:
    if chars > limits.max_input_chars:
        raise _too_large("input characters", chars, limits.max_input_chars,
                         "max_input_chars", param)


def check_chat(messages: Sequence[Any], limits: InputLimits | None = None) -> None:
    """400 when a chat has too many messages or too much text."""
    limits = limits or default_limits()
    if len(messages) > limits.max_chat_messages:
        raise _too_large("messages", len(messages), limits.max_chat_messages,
                         "max_chat_messages", "messages")
    chars = sum(
        content_chars(m.get("content") if isinstance(m, dict) else getattr(m, "content", None))
        for m in messages
    )
    check_chars(chars, limits, "messages")


def check_prompt(prompt: str | Iterable[Any], limits: InputLimits | None = None) -> None:
    """400 when a completion prompt (text, texts or token ids) is too large."""
    limits = limits or default_limits()
    if isinstance(prompt, str):
        chars = len(prompt)
    else:
        chars = sum(len(p) if isinstance(p, (str, list)) else 1 for p in prompt)
    check_chars(chars, limits, "prompt")


def check_embedding(inputs: Sequence[Any], limits: InputLimits | None = None) -> None:
    """400 when an embedding request has too many inputs or too much text."""
    limits = limits or default_limits()
    if len(inputs) > limits.max_embedding_inputs:
        raise _too_large("embedding inputs", len(inputs), limits.max_embedding_inputs,
                         "max_embedding_inputs", "input")
    check_chars(sum(map(len, inputs)), limits, "input")


def check_body(body: Any, limits: InputLimits | None = None) -> None:
    """The check that fits a parsed chat, completion or embedding request."""
    from sage.llm.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest

    limits = limits or default_limits()
    # By type: unknown fields are kept on every body, so ``messages`` may be an extra.
    if isinstance(body, ChatCompletionRequest):
        check_chat(body.messages, limits)
    elif isinstance(body, EmbeddingRequest):
        check_embedding(body.inputs(), limits)
    elif isinstance(body, CompletionRequest):
        check_prompt(body.prompt, limits)
