"""Short answers copied from the retrieved passages, by two routes.

``extractive``: the best-scoring candidate span (``sage.libs.qa``: answer type,
sentence overlap, proximity to the question's words); no model call.
``choice``: the chat model picks one of the top candidates, constrained by a strict
``json_schema`` ``response_format`` whose ``answer`` is an ``enum`` of the candidate
spans, so even a 135M model returns a copy of the text. The choice only improves with
the model: on SmolLM2-135M it is worse than the extractive ranking (see docs/rag.md),
a bigger model or an OpenAI URL is one ``base_url`` away.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sage.libs.qa import Candidate, ExtractiveConfig, rank_candidates, sentences_of

ANSWER_MODES = ("free", "extractive", "choice")
CHOICE_SYSTEM = ("Answer the question with one of the allowed options, copied exactly "
                 "from the context.")


@dataclass
class ShortAnswer:
    text: str
    source: str  # "extractive", "model", or "fallback" (the model's pick was unusable)
    candidates: list[str]


def candidates_for(question: str, passages: list[str], *, top_n: int, client: Any = None,
                   use_embeddings: bool = False,
                   config: ExtractiveConfig | None = None) -> list[Candidate]:
    """Ranked spans; with ``use_embeddings`` the sentences are also scored by cosine to
    the question (one embedding request per record)."""
    sims = None
    if use_embeddings and client is not None and passages:
        texts = [s.text for s in sentences_of(passages)]
        if texts:
            vectors = client.embed([question, *texts])
            sims = [_cosine(vectors[0], v) for v in vectors[1:]]
    return rank_candidates(question, passages, sims, config, top_n=top_n)


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = (sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5
    return dot / norm if norm else 0.0


def choice_schema(options: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": {"answer": {"type": "string", "enum": options}},
            "required": ["answer"], "additionalProperties": False}


def choice_messages(question: str, context: str, options: list[str]) -> list[dict[str, str]]:
    listed = "\n".join(f"- {o}" for o in options)
    return [{"role": "system", "content": CHOICE_SYSTEM},
            {"role": "user", "content": f"{context}\n\nQuestion: {question}\n"
                                        f"Options:\n{listed}\nAnswer:"}]


def pick(client: Any, question: str, context: str, options: list[str], *,
         max_tokens: int, temperature: float = 0.0) -> ShortAnswer:
    """The model's pick among ``options``; the first option when its reply does not
    parse or names something else (counted as ``fallback``, never silent)."""
    try:
        reply = client.chat_json(choice_messages(question, context, options),
                                 choice_schema(options), name="short_answer",
                                 max_tokens=max_tokens, temperature=temperature)
        answer = reply.get("answer") if isinstance(reply, dict) else None
    except (ValueError, json.JSONDecodeError):
        answer = None
    if isinstance(answer, str) and answer in options:
        return ShortAnswer(answer, "model", options)
    return ShortAnswer(options[0], "fallback", options)
