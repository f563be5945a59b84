"""``/v1/completions`` on a llama.cpp context: one prompt or a list (text or token ids),
``n`` choices each (index ``prompt * n + choice``, as OpenAI), ``echo``, ``logprobs``.

Runs in the slot's worker thread; the engine hands chunks to the event loop.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from sage.llm.engines.llama_generate import Outcome, Sampling, TokenLogprob, generate
from sage.llm.openai_errors import OpenAIError
from sage.llm.protocol.completions import CompletionRequest


def check_supported(body: CompletionRequest) -> None:
    """400 for what this engine cannot honour, naming the parameter."""
    if body.best_of is not None and body.best_of > 1:
        raise OpenAIError(400, "best_of > 1 is not supported; use n", param="best_of")
    if body.suffix:
        raise OpenAIError(400, "suffix (insertion) is not supported by this model", param="suffix")
    if body.echo and body.logprobs is not None:
        raise OpenAIError(400, "echo with logprobs is not supported", param="echo")


def _logprobs(entries: list[TokenLogprob], offset: int) -> dict[str, Any]:
    offsets = []
    for entry in entries:
        offsets.append(offset)
        offset += len(entry.token)
    return {
        "tokens": [e.token for e in entries],
        "token_logprobs": [e.logprob for e in entries],
        "top_logprobs": [{t: lp for t, _, lp in e.top} for e in entries],
        "text_offset": offsets,
    }


class CompletionRun:
    """One completions request on one llama.cpp context."""

    def __init__(self, llm: Any, body: CompletionRequest, n_ctx: int) -> None:
        check_supported(body)
        self.llm, self.body, self.n_ctx = llm, body, n_ctx
        n_vocab = llm.n_vocab()
        self.prompts: list[tuple[str, list[int]]] = []
        for i, prompt in enumerate(body.prompts):
            if isinstance(prompt, str):
                tokens = list(llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
                self.prompts.append((prompt, tokens))
                continue
            if any(not 0 <= t < n_vocab for t in prompt):
                raise OpenAIError(400, f"prompt {i} has token ids outside 0..{n_vocab - 1}",
                                  param="prompt")  # fmt: skip
            text = llm.detokenize(prompt).decode("utf-8", errors="replace")
            self.prompts.append((text, list(prompt)))
        self.sampling = Sampling.from_request(body, top_logprobs=body.logprobs)
        self.id = f"cmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.completion_tokens = 0

    def usage(self) -> dict[str, int]:
        prompt = sum(len(tokens) for _, tokens in self.prompts)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": self.completion_tokens,
            "total_tokens": prompt + self.completion_tokens,
        }

    def _runs(self) -> Iterator[tuple[int, str, list[int], Sampling]]:
        seed = self.sampling.seed
        for p, (text, tokens) in enumerate(self.prompts):
            for j in range(self.body.n):
                index = p * self.body.n + j
                yield index, text, tokens, replace(
                    self.sampling, seed=None if seed is None else seed + j
                )

    def _choice(self, index: int, text: str, finish: str | None,
                entries: list[TokenLogprob], offset: int) -> dict[str, Any]:  # fmt: skip
        logprobs = _logprobs(entries, offset) if self.body.logprobs is not None else None
        return {"index": index, "text": text, "logprobs": logprobs, "finish_reason": finish}

    def response(self, model: str, cancelled: threading.Event | None = None) -> dict[str, Any]:
        choices = []
        for index, prompt_text, tokens, sampling in self._runs():
            outcome = Outcome()
            deltas = list(generate(self.llm, tokens, sampling, self.n_ctx, cancelled, outcome))
            self.completion_tokens += outcome.completion_tokens
            head = prompt_text if self.body.echo else ""
            entries = [e for d in deltas for e in d.logprobs]
            text = head + "".join(d.text for d in deltas)
            choices.append(self._choice(index, text, outcome.finish_reason, entries, len(head)))
        return {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": model,
            "choices": choices,
            "usage": self.usage(),
        }

    def _chunk(self, choice: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.id, "object": "text_completion", "created": self.created,
                "choices": [choice]}  # fmt: skip

    def chunks(self, cancelled: threading.Event) -> Iterator[dict[str, Any]]:
        for index, prompt_text, tokens, sampling in self._runs():
            offset = 0
            if self.body.echo:
                yield self._chunk(self._choice(index, prompt_text, None, [], 0))
                offset = len(prompt_text)
            outcome = Outcome()
            for delta in generate(self.llm, tokens, sampling, self.n_ctx, cancelled, outcome):
                yield self._chunk(self._choice(index, delta.text, None, delta.logprobs, offset))
                offset += len(delta.text)
            self.completion_tokens += outcome.completion_tokens
            yield self._chunk(self._choice(index, "", outcome.finish_reason, [], offset))
            if outcome.stopped:  # no time left for the other choices
                break
        if self.body.include_usage:
            yield {**self._chunk({}), "choices": [], "usage": self.usage()}
