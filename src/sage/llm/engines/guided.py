"""Grammar-constrained decoding for llama.cpp with llguidance: a token mask per step.

llama.cpp's own grammar sampler checks every vocabulary entry against the grammar at
every step (SmolLM2's 49k tokens: ~200 ms a token on this CPU, slower than the model);
llguidance computes the same mask in well under a millisecond. Grammars are written as
Lark with ``%json`` schemas, which llguidance compiles natively (string lengths,
whitespace and the like bound in the lexer, not unrolled into nested rules).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from sage.llm.openai_errors import OpenAIError

_LOCK = threading.Lock()
_TOKENIZERS: dict[str, Any] = {}  # model path -> llguidance tokenizer (slots share it)


def lltokenizer(llm: Any) -> Any:
    """llguidance's view of ``llm``'s vocabulary, built once per model file (~1 s)."""
    key = str(llm.model_path)
    with _LOCK:
        if key not in _TOKENIZERS:
            from llguidance.llamacpp import lltokenizer_from_vocab

            _TOKENIZERS[key] = lltokenizer_from_vocab(llm._model.vocab)
        return _TOKENIZERS[key]


def warm_up(llm: Any) -> None:
    """Build the tokenizer in the background, so no request waits for it."""
    threading.Thread(target=lltokenizer, args=(llm,), name="llguidance-vocab", daemon=True).start()


def compile_grammar(lark: str, param: str) -> str:
    """llguidance's grammar for a Lark text; a 400 naming ``param`` if it cannot be."""
    from llguidance import LLMatcher
    from llguidance._grammar_from import grammar_from

    try:
        grammar = grammar_from("lark", lark)
    except ValueError as exc:
        raise OpenAIError(400, f"cannot build a grammar for this request: {exc}", param=param) from None
    error = LLMatcher.validate_grammar(grammar)
    if error:
        raise OpenAIError(400, f"cannot build a grammar for this request: {error}", param=param)
    return grammar


class Guide:
    """One generation's matcher: ``mask`` the logits, then ``consume`` the chosen token."""

    def __init__(self, llm: Any, grammar: str) -> None:
        from llguidance import LLMatcher

        self.matcher = LLMatcher(lltokenizer(llm), grammar)
        if self.matcher.is_error():
            raise OpenAIError(400, f"grammar error: {self.matcher.get_error()}")

    def mask(self, logits: np.ndarray) -> None:
        bits = np.frombuffer(self.matcher.compute_bitmask(), dtype=np.uint8)
        allowed = np.unpackbits(bits, bitorder="little")[: len(logits)].astype(bool)
        logits[: len(allowed)][~allowed] = -np.inf

    def consume(self, token: int) -> bool:
        return bool(self.matcher.consume_token(token))

    @property
    def done(self) -> bool:
        return bool(self.matcher.is_stopped())
