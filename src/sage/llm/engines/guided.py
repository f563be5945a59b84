"""Grammar-constrained decoding for llama.cpp with llguidance: a token mask per step.

llama.cpp's own grammar sampler checks every vocabulary entry against the grammar at
every step (SmolLM2's 49k tokens: ~200 ms a token on this CPU, slower than the model);
llguidance computes the same mask in well under a millisecond. Grammars are written as
Lark with ``%json`` schemas, which llguidance compiles natively (string lengths,
whitespace and the like bound in the lexer, not unrolled into nested rules).

A guide with a token budget also makes the output *finish* within it: a small model can
loop inside a string or a number until ``max_tokens`` cuts it, leaving JSON no parser can
read. So once the budget left is about what the shortest way to close the output takes
(measured by playing that way out on a copy of the matcher), the guide forces it: close
the open string, number, array and object with the tokens that end them, give a missing
required property the shortest value, then the end of the call.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from sage.llm.openai_errors import OpenAIError

_LOCK = threading.Lock()
# model path -> (llguidance tokenizer, the LlamaModel whose vocabulary it reads): slots
# share it; rebuilt once that model is freed (the tokenizer calls into its vocabulary).
_TOKENIZERS: dict[str, tuple[Any, Any]] = {}
_CLOSERS: dict[str, list[int]] = {}  # model path -> ids of the closing tokens below
_SPACES: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # see spacing()

# Tokens that finish JSON soonest, in order of preference: an empty string, the ones
# that close a string (inside a string, "}" is just a character), then brackets, then the
# shortest values, then "," (a required property still missing). Multi-character
# entries are used only where they are one token of the model's vocabulary.
CLOSING_TEXTS = ('""', '"}]', '"}}', '"]', '"}', '"', '}]', '}}', ']}', '}', ']',
                 '0', '[]', '{}', 'true', 'false', 'null', ',')  # fmt: skip
# Tokens kept in hand beyond the measured closing length: forced closing starts this
# many tokens early (the model still picks where no closing token fits, e.g. a key).
CLOSE_MARGIN = 3
# Closing lengths are measured at most this far (a longer one: close at once).
CLOSE_PROBE_STEPS = 256


def lltokenizer(llm: Any) -> Any:
    """llguidance's view of ``llm``'s vocabulary, built once per model file (~1 s)."""
    key = str(llm.model_path)
    with _LOCK:
        entry = _TOKENIZERS.get(key)
        if entry is None or getattr(entry[1], "model", None) is None:
            from llguidance.llamacpp import lltokenizer_from_vocab

            entry = _TOKENIZERS[key] = (lltokenizer_from_vocab(llm._model.vocab), llm._model)
        return entry[0]


def _pieces(tokenizer: Any) -> list[bytes]:
    """Each token's bytes (b"" for special ones), from llguidance's own copy of the
    vocabulary: the model's may be freed while this (cached per model file) lives on."""
    return [b"" if tokenizer.is_special_token(t) else tokenizer.decode_bytes([t])
            for t in range(tokenizer.vocab_size)]  # fmt: skip


def closing_tokens(llm: Any) -> list[int]:
    """Ids of ``CLOSING_TEXTS`` that are single tokens of ``llm``'s vocabulary, in order."""
    spacing(llm)
    return _CLOSERS[str(llm.model_path)]


def spacing(llm: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per token: is it whitespace only, and its first byte (256: none or special); per
    byte ``b``: is " b" one token (so a lone space before ``b`` is not how the model
    writes it). Also fills ``closing_tokens``. Built once per model file."""
    key = str(llm.model_path)
    tokenizer = lltokenizer(llm)
    with _LOCK:
        if key not in _SPACES:
            pieces = _pieces(tokenizer)
            ids = {p: t for t, p in reversed(list(enumerate(pieces))) if p}
            blank = np.array([bool(p) and not p.strip() for p in pieces])
            first = np.array([p[0] if p else 256 for p in pieces], dtype=np.int32)
            merges = np.zeros(257, dtype=bool)
            for b in range(33, 127):
                merges[b] = b" " + bytes([b]) in ids
            _CLOSERS[key] = [ids[t.encode()] for t in CLOSING_TEXTS if t.encode() in ids]
            _SPACES[key] = blank, first, merges
        return _SPACES[key]


def warm_up(llm: Any) -> None:
    """Build the tokenizer tables in the background, so no request waits for them."""

    def build() -> None:
        lltokenizer(llm)
        spacing(llm)

    threading.Thread(target=build, name="llguidance-vocab", daemon=True).start()


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


def _allowed(matcher: Any, size: int | None = None) -> np.ndarray:
    bits = np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[:size].astype(bool)


def _closer(allowed: np.ndarray, closers: list[int]) -> int | None:
    """The first closing token the grammar allows here, if any."""
    for token in closers:
        if token < len(allowed) and allowed[token]:
            return token
    return None


def closing_length(matcher: Any, closers: list[int], cap: int = CLOSE_PROBE_STEPS) -> int:
    """Tokens the closing policy takes to bring ``matcher`` (left untouched) to an
    accepting state: forced tokens as they come, else the first allowed closing token,
    else the first allowed token. ``cap`` when it takes longer (or cannot)."""
    probe = matcher.deep_copy()
    steps = 0
    while steps < cap and not probe.is_accepting() and not probe.is_stopped():
        forced = probe.compute_ff_tokens()
        if forced:
            probe.consume_tokens(forced)
            steps += len(forced)
            continue
        allowed = _allowed(probe)
        token = _closer(allowed, closers)
        if token is None:
            (candidates,) = np.nonzero(allowed)
            if not len(candidates):
                return cap
            token = int(candidates[0])
        if not probe.consume_token(token):
            return cap
        steps += 1
    return steps if probe.is_accepting() else cap


class Guide:
    """One generation's matcher: ``mask`` the logits, then ``consume`` the chosen token.
    With a ``budget`` (the tokens this generation may emit), the output is forced to
    close in time (see the module docstring); ``closing`` says it was."""

    def __init__(self, llm: Any, grammar: str, budget: int | None = None) -> None:
        from llguidance import LLMatcher

        self.matcher = LLMatcher(lltokenizer(llm), grammar)
        if self.matcher.is_error():
            raise OpenAIError(400, f"grammar error: {self.matcher.get_error()}")
        self.budget = budget
        self.used = 0
        self.closing = False
        self._closers = closing_tokens(llm) if budget is not None else []
        self._blank, self._first, self._merges = spacing(llm)
        self._check_at = budget if budget is not None else -1  # tokens left at next probe

    def _must_close(self) -> bool:
        """Whether the budget left is down to what closing takes (probed on a schedule:
        halfway to the last estimate, so a long call costs a handful of probes)."""
        if self.budget is None or self.closing or self.used == 0:
            return self.closing  # the first token decides text or call under "auto"
        left = self.budget - self.used
        if left > self._check_at or self.matcher.is_accepting():
            return False
        need = closing_length(self.matcher, self._closers, min(CLOSE_PROBE_STEPS, left + 1))
        spare = left - need - CLOSE_MARGIN
        if spare <= 0:
            self.closing = True
        else:
            self._check_at = left - max(1, spare // 2)
        return self.closing

    def _lone_space(self, allowed: np.ndarray) -> int | None:
        """The allowed whitespace-only token, when whatever may follow it merges with it
        into one token (a space before a string is the token ' "', never ' ' then '"';
        a small model that takes the lone space writes nonsense after it)."""
        (blanks,) = np.nonzero(allowed & self._blank[: len(allowed)])
        if len(blanks) != 1:
            return None
        probe = self.matcher.deep_copy()
        if not probe.consume_token(int(blanks[0])):
            return None
        after = _allowed(probe, len(allowed))
        nexts = np.unique(self._first[: len(after)][after])
        return int(blanks[0]) if len(nexts) and self._merges[nexts].all() else None

    def mask(self, logits: np.ndarray) -> None:
        allowed = _allowed(self.matcher, len(logits))
        if (space := self._lone_space(allowed)) is not None:
            allowed[space] = False
        logits[: len(allowed)][~allowed] = -np.inf
        if self._must_close() and not self.matcher.is_accepting():
            forced = self.matcher.compute_ff_tokens()  # as the closing length counts them
            token = forced[0] if forced else _closer(allowed, self._closers)
            if token is not None:
                chosen = logits[token]
                logits[:] = -np.inf
                logits[token] = chosen

    def consume(self, token: int) -> bool:
        self.used += 1
        return bool(self.matcher.consume_token(token))

    @property
    def done(self) -> bool:
        return bool(self.matcher.is_stopped())
