"""One generation on a llama.cpp context, token by token: our own loop over
``Llama.generate`` rather than ``create_completion``, because OpenAI's surface needs what
that one does not give together: a grammar, logprobs without ``logits_all`` (a logits
processor reads them as they pass), ``ignore_eos``, ``logit_bias``, exact token counts
while streaming, and stop strings never leaked into a streamed delta.
"""

from __future__ import annotations

import codecs
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sage.llm.engines.guided import Guide
from sage.llm.openai_errors import OpenAIError
from sage.llm.protocol.common import SamplingParams


@dataclass
class Sampling:
    """What one generation is asked for, in llama.cpp's terms."""

    max_tokens: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    ignore_eos: bool = False
    logit_bias: dict[int, float] = field(default_factory=dict)
    top_logprobs: int | None = None  # None: no logprobs; 0: the chosen token's only
    grammar: str | None = None  # llguidance grammar (see sage.llm.engines.guided)

    @classmethod
    def from_request(cls, body: SamplingParams, top_logprobs: int | None = None) -> Sampling:
        bias: dict[int, float] = {}
        for key, value in (body.logit_bias or {}).items():
            if not key.lstrip("-").isdigit():
                raise OpenAIError(400, f"logit_bias key {key!r} is not a token id", param="logit_bias")
            bias[int(key)] = value
        return cls(
            max_tokens=body.token_limit,
            temperature=1.0 if body.temperature is None else body.temperature,
            top_p=1.0 if body.top_p is None else body.top_p,
            top_k=40 if body.top_k is None else max(0, body.top_k),
            min_p=0.05 if body.min_p is None else body.min_p,
            repeat_penalty=body.repetition_penalty or 1.0,
            presence_penalty=body.presence_penalty or 0.0,
            frequency_penalty=body.frequency_penalty or 0.0,
            seed=body.seed,
            stop=body.stops,
            ignore_eos=body.ignore_eos,
            logit_bias=bias,
            top_logprobs=top_logprobs,
        )


@dataclass
class TokenLogprob:
    token: str
    bytes: list[int]
    logprob: float
    top: list[tuple[str, list[int], float]]


@dataclass
class Delta:
    """New text since the last delta, the tokens behind it, and their logprobs."""

    text: str
    tokens: int
    logprobs: list[TokenLogprob] = field(default_factory=list)


@dataclass
class Outcome:
    """How a generation ended."""

    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stopped: bool = False  # cut short: the client left or the time budget ran out


class _LogitsTap:
    """A logits processor: applies ``logit_bias``/``ignore_eos`` and the grammar's mask,
    and records each step's log-softmax (before any of them) so the chosen token's
    logprob is known after sampling."""

    def __init__(self, llm: Any, sampling: Sampling, budget: int | None = None) -> None:
        self.eos = llm.token_eos()
        self.sampling = sampling
        self.guide = Guide(llm, sampling.grammar, budget) if sampling.grammar else None
        self.bias_ids = np.fromiter(sampling.logit_bias, dtype=np.intc)
        self.bias_values = np.fromiter(sampling.logit_bias.values(), dtype=np.single)
        self.last: np.ndarray | None = None

    def __call__(self, _ids: Any, logits: np.ndarray) -> np.ndarray:
        if self.sampling.top_logprobs is not None:
            shifted = logits.astype(np.float64) - float(logits.max())
            self.last = shifted - np.log(np.exp(shifted).sum())
        if len(self.bias_ids):
            logits[self.bias_ids] += self.bias_values
        if self.guide is not None:
            self.guide.mask(logits)
        elif self.sampling.ignore_eos:  # a grammar decides where its output ends
            logits[self.eos] = -np.inf
        return logits

    def entry(self, llm: Any, token: int) -> TokenLogprob | None:
        if self.last is None:
            return None
        logprobs, k = self.last, self.sampling.top_logprobs or 0
        top = np.argpartition(-logprobs, k)[:k] if k else np.array([], dtype=np.intc)
        top = top[np.argsort(-logprobs[top])]
        return TokenLogprob(
            *_piece(llm, token), float(logprobs[token]),
            [(*_piece(llm, int(t)), float(logprobs[t])) for t in top],
        )  # fmt: skip


def _piece(llm: Any, token: int) -> tuple[str, list[int]]:
    raw = llm.detokenize([token])
    return raw.decode("utf-8", errors="replace"), list(raw)


def _stop_at(text: str, stops: list[str]) -> int | None:
    """Where the first stop string starts in ``text``, if any."""
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(hits) if hits else None


def _held_back(text: str, stops: list[str]) -> int:
    """Characters at the end of ``text`` that could begin a stop string."""
    hold = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:size]):
                hold = max(hold, size)
                break
    return hold


def generate(
    llm: Any,
    prompt_tokens: list[int],
    sampling: Sampling,
    n_ctx: int,
    cancelled: threading.Event | None = None,
    outcome: Outcome | None = None,
) -> Iterator[Delta]:
    """Deltas of one completion of ``prompt_tokens``; ``outcome`` is filled at the end."""
    outcome = outcome if outcome is not None else Outcome()
    outcome.prompt_tokens = len(prompt_tokens)
    room = n_ctx - len(prompt_tokens)
    if room <= 0:
        raise OpenAIError(
            400,
            f"the prompt is {len(prompt_tokens)} tokens; this model's context is {n_ctx}",
            code="context_length_exceeded",
            param="messages",
        )
    limit = min(sampling.max_tokens or room, room)
    llm.set_seed(sampling.seed if sampling.seed is not None else random.getrandbits(31))
    tap = _LogitsTap(llm, sampling, limit)  # a grammar's output is closed within it
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    eos = llm.token_eos()
    text = ""  # decoded text not yet sent
    tokens_pending: list[TokenLogprob] = []
    n_pending = 0
    outcome.finish_reason = "length"
    for token in llm.generate(
        prompt_tokens,
        temp=sampling.temperature,
        top_p=sampling.top_p,
        top_k=sampling.top_k,
        min_p=sampling.min_p,
        repeat_penalty=sampling.repeat_penalty,
        presence_penalty=sampling.presence_penalty,
        frequency_penalty=sampling.frequency_penalty,
        logits_processor=[tap],
    ):
        if cancelled is not None and cancelled.is_set():
            outcome.finish_reason, outcome.stopped = "length", True  # a budget, like max_tokens
            return
        if token == eos and (tap.guide is not None or not sampling.ignore_eos):
            # closed early to fit max_tokens: complete and valid, but cut, so "length"
            outcome.finish_reason = "length" if tap.guide and tap.guide.closing else "stop"
            break
        if tap.guide is not None:
            tap.guide.consume(token)
        outcome.completion_tokens += 1
        n_pending += 1
        if (entry := tap.entry(llm, token)) is not None:
            tokens_pending.append(entry)
        text += decoder.decode(llm.detokenize([token]))
        if sampling.stop and (cut := _stop_at(text, sampling.stop)) is not None:
            text = text[:cut]
            outcome.finish_reason = "stop"
            break
        send = len(text) - _held_back(text, sampling.stop)
        if send > 0:
            yield Delta(text[:send], n_pending, tokens_pending)
            text, n_pending, tokens_pending = text[send:], 0, []
        if outcome.completion_tokens >= limit:
            break
    text += decoder.decode(b"", final=True)
    if text or n_pending:
        yield Delta(text, n_pending, tokens_pending)
