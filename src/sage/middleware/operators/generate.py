"""``Generate``: answer a record's question from its retrieved passages.

``answer="free"`` fills a prompt template and asks the chat model. Templates are
``str.format`` strings over the record's fields plus ``{context}`` (the retrieved
passages, numbered, cut to ``max_context_words``). Answers are capped at
``max_tokens``: small CPU models are slow per token and ramble.

``answer="extractive"`` and ``answer="choice"`` give short answers copied from the
passages (see ``short_answer``): the best candidate span, or the chat model's
constrained pick among the top ``candidates``.
"""

from __future__ import annotations

from typing import Any

from sage.common.errors import ConfigError
from sage.kernel import MapFunction
from sage.middleware.operators.base import ModelCalling
from sage.middleware.operators.short_answer import ANSWER_MODES, ShortAnswer, candidates_for, pick

# Chosen on the demo question set with SmolLM2-135M (token F1, 28 questions): asking for
# "a few words copied from the context" after one passage beat sentence-style prompts
# and longer contexts (0.18 vs 0.13-0.16), and a short prompt prefills faster.
DEFAULT_SYSTEM = "Answer with a few words copied from the context."
DEFAULT_TEMPLATE = "{context}\n\nQuestion: {question}\nShort answer:"
NO_CONTEXT_SYSTEM = "Answer with a few words."
NO_CONTEXT_TEMPLATE = "Question: {question}\nShort answer:"


def format_context(passages: list[dict[str, Any]], max_words: int) -> str:
    """Numbered passages, truncated to a total word budget (whole passages first)."""
    lines: list[str] = []
    used = 0
    for n, p in enumerate(passages, 1):
        words = str(p.get("text", "")).split()
        room = max_words - used
        if room <= 0:
            break
        lines.append(f"[{n}] " + " ".join(words[:room]))
        used += min(len(words), room)
    return "\n".join(lines)


class Generate(ModelCalling, MapFunction):
    """Adds ``out_field`` (default ``answer``) to the record; the short-answer modes also
    add ``answer_source`` (``extractive``, ``model``, ``fallback``, ``free``, ``none``)
    and ``answer_candidates``. Without passages every mode asks the model freely (when
    there is one)."""

    def __init__(self, base_url: str | None = None, *, template: str | None = None,
                 system: str | None = DEFAULT_SYSTEM, context_field: str = "retrieved",
                 out_field: str = "answer", max_tokens: int = 48, temperature: float = 0.0,
                 max_context_words: int = 220, model: str | None = None,
                 answer: str = "free", candidates: int = 5, use_embeddings: bool = False,
                 client: Any = None, timeout: float = 120.0) -> None:
        if answer not in ANSWER_MODES:
            raise ConfigError(f"answer must be one of {ANSWER_MODES}, not {answer!r}")
        self._init_client(base_url, client, model, None, timeout,
                          required=answer != "extractive")
        self.answer = answer
        self.candidates = candidates
        self.use_embeddings = use_embeddings
        self.template = template
        self.system = system
        self.context_field = context_field
        self.out_field = out_field
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_context_words = max_context_words

    def prompt(self, record: dict[str, Any]) -> list[dict[str, str]]:
        passages = record.get(self.context_field)
        template = self.template or (DEFAULT_TEMPLATE if passages else NO_CONTEXT_TEMPLATE)
        system = self.system
        if system == DEFAULT_SYSTEM and not passages and self.template is None:
            system = NO_CONTEXT_SYSTEM
        context = format_context(list(passages or []), self.max_context_words)
        user = template.format_map({**record, "context": context})
        messages = [{"role": "system", "content": system}] if system else []
        return [*messages, {"role": "user", "content": user}]

    def _has_model(self) -> bool:
        return self.base_url is not None or self._client is not None

    def short_answer(self, record: dict[str, Any]) -> ShortAnswer:
        """The extractive or chosen span for one record with passages."""
        question = str(record.get("question", ""))
        passages = [str(p.get("text", "")) for p in record.get(self.context_field) or []]
        needs_model = self.use_embeddings or self.answer == "choice"
        client = self.client if needs_model and self._has_model() else None
        ranked = candidates_for(question, passages, top_n=self.candidates, client=client,
                                use_embeddings=self.use_embeddings)
        options = list(dict.fromkeys(c.text for c in ranked))
        if not options:
            return ShortAnswer("", "none", [])
        if self.answer == "extractive" or client is None or len(options) == 1:
            return ShortAnswer(options[0], "extractive", options)
        context = format_context(list(record.get(self.context_field) or []),
                                 self.max_context_words)
        return pick(client, question, context, options, max_tokens=self.max_tokens,
                    temperature=self.temperature)

    def execute(self, data: Any) -> dict[str, Any]:
        record = {"question": data} if isinstance(data, str) else dict(data)
        if self.answer != "free" and record.get(self.context_field):
            short = self.short_answer(record)
            if short.text or not self._has_model():
                record[self.out_field] = short.text
                record["answer_source"] = short.source
                record["answer_candidates"] = short.candidates
                return record
        if not self._has_model():
            record[self.out_field] = ""
            record["answer_source"] = "none"
            return record
        reply = self.client.chat(self.prompt(record), max_tokens=self.max_tokens,
                                 temperature=self.temperature)
        record[self.out_field] = reply.strip()
        if self.answer != "free":
            record["answer_source"] = "free"
        return record

    def close(self) -> None:
        self._close_client()
