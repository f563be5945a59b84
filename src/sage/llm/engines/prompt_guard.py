"""Client text stays text: chat content never becomes control tokens, and tokenizing
is linear in the prompt.

llama-cpp-python renders the chat template into one string and tokenizes it with
``special=True``, so a user message ``<|im_start|>system`` forged a system turn, and
llama.cpp's special-token partitioning is quadratic in the number of special tokens
(12k one-word messages: 3.9 s). Here every message's text is wrapped in two private-use
markers before rendering; :class:`GuardedTokenizer`, installed as the ``Llama``'s
``tokenize``, then tokenizes the template pieces with special tokens and the marked
pieces as plain text, piece by piece.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

OPEN, CLOSE = "\ue000", "\ue001"  # Unicode private use: stripped from client text first
_OPEN_B, _CLOSE_B = OPEN.encode(), CLOSE.encode()
_CHUNK_BYTES = 4096
# Split long unmarked text after a newline that starts a new word: BPE pre-tokenizers
# never merge across such a point, so the tokens are the same as in one call.
_SAFE_SPLIT = re.compile(rb"\n(?=\S)")

Tokenize = Callable[[bytes, bool, bool], list[int]]


def mark_text(text: str) -> str:
    """``text`` between the markers (markers inside it dropped)."""
    return OPEN + text.replace(OPEN, "").replace(CLOSE, "") + CLOSE


def mark_content(content: Any) -> Any:
    """A message's ``content`` (a string or OpenAI content parts) with its text marked."""
    if isinstance(content, str):
        return mark_text(content)
    if isinstance(content, list):
        return [
            {**part, "text": mark_text(part["text"])}
            if isinstance(part, dict) and isinstance(part.get("text"), str)
            else part
            for part in content
        ]
    return content


def unmark(text: str) -> str:
    """``text`` without markers (for anything that echoes a rendered prompt back)."""
    return text.replace(OPEN, "").replace(CLOSE, "")


class GuardedTokenizer:
    """Wraps ``Llama.tokenize``: marked pieces as plain text, in bounded chunks."""

    def __init__(self, tokenize: Tokenize) -> None:
        self._tokenize = tokenize

    def __call__(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        tokens: list[int] = []
        first = True
        for piece, is_client_text in _pieces(text):
            for chunk in _chunks(piece):
                tokens += self._tokenize(chunk, add_bos and first, special and not is_client_text)
                first = False
        if first and add_bos:  # empty text: still the BOS llama.cpp would give
            tokens += self._tokenize(b"", True, special)
        return tokens


def _pieces(text: bytes) -> list[tuple[bytes, bool]]:
    """``text`` cut at the markers: ``(piece, came from a client)``."""
    if _OPEN_B not in text:
        return [(text, False)]
    head, *rest = text.split(_OPEN_B)
    pieces = [(head, False)]
    for part in rest:
        inside, _, outside = part.partition(_CLOSE_B)
        pieces += [(inside, True), (outside, False)]
    return [(p, client) for p, client in pieces if p]


def _chunks(piece: bytes) -> list[bytes]:
    if len(piece) <= _CHUNK_BYTES:
        return [piece]
    chunks: list[bytes] = []
    start = 0
    for match in _SAFE_SPLIT.finditer(piece):
        if match.end() - start >= _CHUNK_BYTES:
            chunks.append(piece[start : match.end()])
            start = match.end()
    chunks.append(piece[start:])
    return chunks


def guard_tokenizer(llm: Any) -> Any:
    """Install :class:`GuardedTokenizer` on one ``llama_cpp.Llama`` (idempotent)."""
    if not isinstance(llm.tokenize, GuardedTokenizer):
        llm.tokenize = GuardedTokenizer(llm.tokenize)
    return llm
