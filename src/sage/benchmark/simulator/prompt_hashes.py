"""Stand-ins for the gateway's prompt block hashes, by the gateway's rule.

The gateway (:mod:`sage.llm.prefix_hash`) cuts every message (``role\\ncontent``) into
``BLOCK_CHARS``-character blocks that restart at each message boundary, so how many
blocks a prompt has, and how many of them two prompts share, follows its messages'
character lengths: a 300-token system prompt is 6 blocks there, not 300 / 64. Policies
compare block counts (``prefix_aware``'s score and ``hold_blocks``), so the simulator's
stand-ins count blocks the same way: per message, from its characters (the real text's
length in a replay; tokens x :data:`CHARS_PER_TOKEN` of the benchmark's synthetic words
otherwise). Stand-ins are plain integers, not blake2 digests (a million requests), with
the chaining property that matters: equal exactly where the gateway's would be equal.

A chat row is sent as the benchmark's runner sends it: its prefix as the system message
(a tenant's prompt) or, for a session (a prefix id whose length grew since its last
row), the previous turn's messages plus that turn's answer, then the row's question.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sage.benchmark.serving.prompts import INSTRUCTION, WORDS
from sage.llm.prefix_hash import BLOCK_CHARS

# The synthetic words' mean length plus the space between them (prompts.synthetic_text).
CHARS_PER_TOKEN = float(np.mean([len(w) for w in WORDS])) + 1.0
SYSTEM_HEAD = len("system\n")
USER_HEAD = len("user\n") + len(INSTRUCTION) + 1  # chat_prompt: instruction, then words
ASSISTANT_HEAD = len("assistant\n")
SESSIONS_KEPT = 65_536  # prefix ids whose last prompt is remembered (then: the oldest go)
ROW_BLOCKS = 256  # stand-in ids per row: its question's blocks, then its answer's


def blocks_of(chars: float | np.ndarray) -> np.ndarray:
    """Blocks of messages of ``chars`` characters each (at least one: an empty one hashes
    too); :func:`message_blocks` for one message."""
    return np.maximum(1, np.ceil(np.asarray(chars, dtype=np.float64) / BLOCK_CHARS)).astype(
        np.int64
    )


def message_blocks(chars: float) -> int:
    """:func:`blocks_of` one message, without numpy (called per new prefix)."""
    return max(1, math.ceil(chars / BLOCK_CHARS))


def system_chars(prefix_tokens: float) -> float:
    """``system\\n`` + a ``prefix_tokens``-word prefix text, estimated."""
    return SYSTEM_HEAD + max(1.0, prefix_tokens) * CHARS_PER_TOKEN - 1


def question_chars(prompt_tokens: np.ndarray) -> np.ndarray:
    """``user\\n`` + :func:`~sage.benchmark.serving.prompts.chat_prompt` of that many tokens."""
    body = np.maximum(1, np.asarray(prompt_tokens, dtype=np.float64) - 10)
    return USER_HEAD + body * CHARS_PER_TOKEN - 1


def answer_chars(output_tokens: np.ndarray) -> np.ndarray:
    """``assistant\\n`` + an answer of that many tokens (the model continues the words)."""
    return ASSISTANT_HEAD + np.asarray(output_tokens, dtype=np.float64) * CHARS_PER_TOKEN


class PromptHashes:
    """Block-hash stand-ins per workload row, computed in arrival order (:meth:`of`).

    ``question_blocks`` / ``answer_blocks``: blocks of each row's question and answer
    message; ``system_blocks``: of a prefix id's system message (``None``: estimated from
    its token count). A row whose prefix id was seen with the same length shares that
    system message; with a longer one it continues that row's conversation.
    """

    def __init__(
        self,
        prefix: Sequence[int],
        prefix_tokens: Sequence[int],
        question_blocks: Sequence[int],
        answer_blocks: Sequence[int],
        system_blocks: dict[int, int] | None = None,
    ) -> None:
        self._prefix = list(prefix)
        self._plen = list(prefix_tokens)
        self._q = list(question_blocks)
        self._a = list(answer_blocks)
        self._system = dict(system_blocks or {})
        # prefix id -> (prefix tokens, its prefix's blocks, the last prompt's blocks, that
        # row's first stand-in id, its answer's block count); oldest first
        self._last: dict[int, tuple[int, tuple[int, ...], tuple[int, ...], int, int]] = {}

    @classmethod
    def of_workload(cls, workload: object) -> PromptHashes | None:
        """Estimated from token counts (a generated workload); ``None``: no prefixes."""
        prefix = getattr(workload, "prefix", None)
        plen = getattr(workload, "prefix_tokens", None)
        if prefix is None or plen is None:
            return None
        q = blocks_of(question_chars(workload.prompt_tokens))  # type: ignore[attr-defined]
        a = blocks_of(answer_chars(workload.output_tokens))  # type: ignore[attr-defined]
        return cls(prefix.tolist(), plen.tolist(), q.tolist(), a.tolist())

    def _system_of(self, pid: int, plen: int) -> tuple[int, ...]:
        n = self._system.get(pid)
        if n is None:
            n = message_blocks(system_chars(plen))
        base = pid << 16
        return tuple(range(base, base + n))

    def of(self, row: int) -> tuple[int, ...]:
        """The blocks of row ``row``'s prompt (``()``: it has no prefix). Call in row order."""
        pid = self._prefix[row]
        if pid < 0:
            return ()
        plen = self._plen[row]
        last = self._last.pop(pid, None)  # re-inserted below: the newest at the end
        if last is None or plen < last[0]:
            prefix = self._system_of(pid, plen)
        elif plen == last[0]:
            prefix = last[1]  # the same system prompt (a tenant's), or a retried turn
        else:  # the session's previous prompt and its answer
            answer = last[3] + ROW_BLOCKS // 2
            prefix = last[2] + tuple(range(answer, answer + min(last[4], ROW_BLOCKS // 2)))
        base = -ROW_BLOCKS * (row + 1)  # negative: apart from every system block
        full = prefix + tuple(range(base, base + min(self._q[row], ROW_BLOCKS // 2)))
        self._last[pid] = (plen, prefix, full, base, self._a[row])
        if len(self._last) > SESSIONS_KEPT:
            del self._last[next(iter(self._last))]
        return full
