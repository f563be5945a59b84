"""Numbers from an OpenAI reply's ``usage`` block, read without parsing the body.

The control plane relays every reply; what it learns from them (speeds, what an engine
had cached) needs two or three integers from the usage block, which sits at the end of a
reply and in the last chunk of a stream, so a byte search from the end suffices.
"""

from __future__ import annotations

_DIGITS = frozenset(b"0123456789")
_CACHED = b'"cached_tokens"'
_PROMPT = b'"prompt_tokens"'


def usage_number(body: bytes, key: bytes) -> int | None:
    """The integer after the last ``key`` (a quoted JSON key) in ``body``, if any."""
    at = body.rfind(key)
    if at < 0:
        return None
    i = at + len(key)
    end = len(body)
    while i < end and body[i] in b": \t":
        i += 1
    start = i
    while i < end and body[i] in _DIGITS:
        i += 1
    return int(body[start:i]) if i > start else None


def cache_usage(body: bytes) -> tuple[int, int] | None:
    """``(cached_tokens, prompt_tokens)`` of a reply that reports both, else ``None``
    (an engine without a prefix cache, or one that does not say)."""
    if _CACHED not in body:
        return None
    cached, prompt = usage_number(body, _CACHED), usage_number(body, _PROMPT)
    if cached is None or not prompt:
        return None
    return min(cached, prompt), prompt
