"""Synthetic prompt text of a requested token length, without a tokenizer or a dataset.

Words are common English words that BPE tokenizers (SmolLM2's, MiniLM's WordPiece) keep
as one token each with their leading space, so ``n`` words are about ``n`` tokens. The
words are drawn per request from a seeded generator: no two prompts share a long prefix,
which would let llama.cpp's prompt cache skip prefill and flatter the numbers. The exact
counts the engines saw come back in ``usage`` and are what the results record.
"""

from __future__ import annotations

import random

_WORD_TEXT = (
    "the of and to in is was for on that with as by at from his her it be are this an "
    "or had not but have they which one you were all we she there been their has more "
    "when will would who so no if out up what time only about into than them can over "
    "some new also after first two may other could made then like back now just year "
    "work day good life state people world way city water long name part man house war "
    "school place three great small home left next team game found life music black "
    "road high line power story land world light party line body early child family "
    "river north south east west open south war group book order green blue white red "
    "car tree bird fish stone wind rain snow fire sun moon star sea hill lake field "
    "road door window table chair paper letter market garden summer winter morning night"
)
WORDS = tuple(dict.fromkeys(_WORD_TEXT.split()))

INSTRUCTION = "Continue this list of words with more words:"


def synthetic_text(tokens: int, seed: int) -> str:
    """About ``tokens`` tokens of words, the same for the same ``seed``."""
    rng = random.Random(seed)
    return " ".join(rng.choices(WORDS, k=max(1, tokens)))


def chat_prompt(tokens: int, seed: int) -> str:
    """A user message of about ``tokens`` tokens that invites a long answer."""
    body = max(1, tokens - 10)  # the instruction is ~10 tokens
    return f"{INSTRUCTION} {synthetic_text(body, seed)}"
