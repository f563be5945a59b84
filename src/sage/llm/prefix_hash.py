"""Chained block hashes of a chat prompt's text, the shared key of prefix caching.

The gateway routes by them (no tokenizer there), engines report the ones they hold, and
the simulator's workloads carry them: all three agree because all three call
:func:`prompt_block_hashes`. Like vLLM's and llm-d's token-block hashes, each hash covers
its block *and everything before it*, so two prompts share exactly their first ``k``
hashes when they share their first ``k`` blocks. Blocks are fixed runs of characters that
restart at every message boundary: a system prompt hashes the same whatever question follows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

BLOCK_CHARS = 256  # ~64 tokens of English text


def chain(parent: int, data: bytes) -> int:
    """The hash of a block whose prefix hashed to ``parent`` (64 bits)."""
    digest = hashlib.blake2b(data, digest_size=8, key=parent.to_bytes(8, "little"))
    return int.from_bytes(digest.digest(), "little")


def text_block_hashes(
    texts: Iterable[str], block_chars: int = BLOCK_CHARS, parent: int = 0
) -> list[int]:
    """Chained hashes of ``texts``, each cut into ``block_chars`` blocks (its last block may
    be shorter: a boundary between texts is always a block boundary)."""
    out: list[int] = []
    for text in texts:
        data = text.encode("utf-8", errors="surrogatepass")
        for start in range(0, max(1, len(data)), block_chars):
            parent = chain(parent, data[start : start + block_chars])
            out.append(parent)
    return out


def message_texts(messages: Iterable[Any]) -> list[str]:
    """One string per message: role and text content (``messages`` are JSON dicts or
    protocol messages with ``.text()``). Tools are left out: a router needs no more."""
    texts = []
    for message in messages:
        if isinstance(message, Mapping):
            role, content = message.get("role", ""), message.get("content") or ""
            if not isinstance(content, str):  # content parts: their text
                content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        else:
            role, content = message.role, message.text()
        texts.append(f"{role}\n{content}")
    return texts


def prompt_block_hashes(messages: Iterable[Any]) -> tuple[int, ...]:
    """The block hashes of a chat request's messages."""
    return tuple(text_block_hashes(message_texts(messages)))


def shared_blocks(a: tuple[int, ...] | list[int], b: tuple[int, ...] | list[int]) -> int:
    """How many leading blocks two hash chains share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def request_block_hashes(body: Any) -> tuple[int, ...]:
    """Block hashes of a parsed chat or completions body (token-id prompts: none)."""
    messages = getattr(body, "messages", None)
    if messages is not None:
        return prompt_block_hashes(messages)
    prompts = getattr(body, "prompts", [])
    if len(prompts) == 1 and isinstance(prompts[0], str):
        return tuple(text_block_hashes([prompts[0]]))
    return ()
