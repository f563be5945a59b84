"""Tool selection: rank candidate tools for an instruction.

``bm25`` (lexical, ``sage.libs.retrieval.BM25Index``), ``embedding`` (cosine over the
injected client's embeddings), ``hybrid`` (reciprocal-rank fusion of both) and
``llm_rerank`` (the LLM picks among hybrid's top-k; on unparseable output hybrid's
order stands, recorded as a fallback).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from sage.libs.agents.constrained import enum_schema, json_schema_format, parse_json_object
from sage.libs.agents.protocols import ChatClient, EmbedClient
from sage.libs.agents.text import cosines, find_tool_mention, match_tool, tool_menu
from sage.libs.agents.tools import Tool
from sage.libs.agents.types import SelectionResult
from sage.libs.retrieval import BM25Index, reciprocal_rank_fusion


class Selector(Protocol):
    name: str

    def select(self, query: str, tools: Sequence[Tool], top_k: int = 10) -> SelectionResult: ...


def _ranked(tools: Sequence[Tool], scores: Sequence[float], top_k: int) -> SelectionResult:
    # Stable on ties: candidate order breaks them, so runs are reproducible.
    order = sorted(range(len(tools)), key=lambda i: (-scores[i], i))[: max(top_k, 0)]
    return SelectionResult(ranked=[tools[i].id for i in order], scores=[scores[i] for i in order])


class BM25Selector:
    """Okapi BM25 (``sage.libs.retrieval.BM25Index``) over tool name + description +
    parameter names; one index per candidate pool, the last few cached.

    Exact words, no stemming: tool texts are short, and stemming conflates words that
    pick different tools ("times" for a calculator, "time" for a clock). A design choice,
    not a fitted one: nothing here is tuned on the items the benchmark evaluates.
    """

    name = "bm25"

    def __init__(self, cache_size: int = 64) -> None:
        self._cache: OrderedDict[tuple[str, ...], BM25Index] = OrderedDict()
        self._cache_size = cache_size

    def _index(self, tools: Sequence[Tool]) -> BM25Index:
        key = tuple(t.id for t in tools)
        index = self._cache.get(key)
        if index is None:
            index = BM25Index([t.text() for t in tools], stemmer=None)
            self._cache[key] = index
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return index

    def scores(self, query: str, tools: Sequence[Tool]) -> list[float]:
        if not tools:
            return []
        return [float(x) for x in self._index(tools).scores(query)]

    def select(self, query: str, tools: Sequence[Tool], top_k: int = 10) -> SelectionResult:
        return _ranked(tools, self.scores(query, tools), top_k)


class EmbeddingSelector:
    """Cosine similarity of query and tool-text embeddings (tool vectors cached)."""

    name = "embedding"

    def __init__(self, client: EmbedClient, batch_size: int = 64) -> None:
        self.client = client
        self.batch_size = batch_size
        self._vectors: dict[str, list[float]] = {}

    def tool_vectors(self, tools: Sequence[Tool]) -> list[list[float]]:
        missing = list(dict.fromkeys(t.text() for t in tools if t.text() not in self._vectors))
        for i in range(0, len(missing), self.batch_size):
            chunk = missing[i : i + self.batch_size]
            self._vectors.update(zip(chunk, self.client.embed(chunk), strict=True))
        return [self._vectors[t.text()] for t in tools]

    def scores(self, query: str, tools: Sequence[Tool]) -> list[float]:
        if not tools:
            return []
        vectors = self.tool_vectors(tools)
        q = self.client.embed([query])[0]
        return cosines(q, vectors)

    def select(self, query: str, tools: Sequence[Tool], top_k: int = 10) -> SelectionResult:
        return _ranked(tools, self.scores(query, tools), top_k)


class HybridSelector:
    """RRF of BM25 and embedding rankings: lexical precision plus paraphrase recall."""

    name = "hybrid"

    def __init__(self, client: EmbedClient, rrf_k: int = 60) -> None:
        self.bm25 = BM25Selector()
        self.embedding = EmbeddingSelector(client)
        self.rrf_k = rrf_k

    def scores(self, query: str, tools: Sequence[Tool]) -> list[float]:
        rankings = []
        for part in (self.bm25, self.embedding):
            s = part.scores(query, tools)
            rankings.append([str(i) for i in sorted(range(len(tools)), key=lambda i: (-s[i], i))])
        fused = dict(reciprocal_rank_fusion(rankings, k=self.rrf_k))
        return [fused.get(str(i), 0.0) for i in range(len(tools))]

    def select(self, query: str, tools: Sequence[Tool], top_k: int = 10) -> SelectionResult:
        return _ranked(tools, self.scores(query, tools), top_k)


_NUMBER = re.compile(r"\b(\d{1,2})\b")


class LLMRerankSelector:
    """The LLM chooses the best of hybrid's top ``rerank_k``; the rest keep hybrid order."""

    name = "llm_rerank"

    def __init__(
        self,
        client: ChatClient,
        embed_client: EmbedClient | None = None,
        rerank_k: int = 5,
        max_tokens: int = 32,
        constrained: bool = True,
    ) -> None:
        self.client = client
        self.hybrid = HybridSelector(embed_client or client)  # type: ignore[arg-type]
        self.rerank_k = rerank_k
        self.max_tokens = max_tokens
        self.constrained = constrained

    def prompt(self, query: str, shortlist: Sequence[Tool]) -> list[dict[str, str]]:
        menu = "\n".join(f"{i}. {t.name}: {t.description}" for i, t in enumerate(shortlist, 1))
        answer = (
            'Answer {"tool": "<name of the best tool>"}.'
            if self.constrained
            else "Answer with the number of the best tool only."
        )
        return [
            {"role": "system", "content": "You pick the single best tool for a request."},
            {"role": "user", "content": f"Request: {query}\n\nTools:\n{menu}\n\n{answer}"},
        ]

    def parse(self, reply: str, shortlist: Sequence[Tool]) -> int | None:
        data = parse_json_object(reply)
        if data is not None and isinstance(data.get("tool"), str):
            tool = match_tool(data["tool"], shortlist)
            if tool is not None:
                return shortlist.index(tool)
        for m in _NUMBER.finditer(reply):
            n = int(m.group(1))
            if 1 <= n <= len(shortlist):
                return n - 1
        tool = match_tool(reply, shortlist)
        if tool is None:
            tool = find_tool_mention(reply, shortlist)
        return shortlist.index(tool) if tool is not None else None

    def select(self, query: str, tools: Sequence[Tool], top_k: int = 10) -> SelectionResult:
        base = self.hybrid.select(query, tools, top_k=max(top_k, self.rerank_k))
        by_id = {t.id: t for t in tools}
        shortlist = [by_id[i] for i in base.ranked[: self.rerank_k]]
        result = SelectionResult(ranked=list(base.ranked), scores=list(base.scores))
        if len(shortlist) <= 1:
            result.ranked = result.ranked[:top_k]
            return result
        extra = {}
        if self.constrained:
            schema = enum_schema("tool", [t.name for t in shortlist])
            extra["response_format"] = json_schema_format("tool", schema)
        reply = self.client.chat(
            self.prompt(query, shortlist), max_tokens=self.max_tokens, temperature=0.0, **extra
        )
        result.llm_calls = 1
        choice = self.parse(reply, shortlist)
        if choice is None:
            result.fell_back("unparseable rerank reply")
        else:
            chosen = shortlist[choice].id
            result.ranked = [chosen] + [i for i in result.ranked if i != chosen]
        result.ranked = result.ranked[:top_k]
        result.scores = []
        return result


__all__ = [
    "BM25Selector",
    "EmbeddingSelector",
    "HybridSelector",
    "LLMRerankSelector",
    "Selector",
    "tool_menu",
]
