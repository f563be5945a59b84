"""File search: BM25 over the documents of a folder (the same loaders as indexing)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sage.libs.agents import Tool
from sage.libs.retrieval import BM25Index
from sage.libs.text import load_documents, split_sentences
from sage.middleware.tools.base import AgentTool

_FILLER = re.compile(r"^(please\s+)?(search|find|look up|look for|lookup)\s+"
                     r"((the|my|our)\s+)?(files?|documents?|docs|notes|corpus)?\s*"
                     r"(for|about|on|mentioning|that mention)?\s*", re.I)


class FileSearchTool(AgentTool):
    spec = Tool(
        id="file_search",
        name="file_search",
        description="Search the files and documents of the corpus for a topic; find which "
                    "document or file mentions something and quote it.",
        parameters={"type": "object", "properties": {"query": {"type": "string"},
                                                     "k": {"type": "integer"}},
                    "required": ["query"]},
        category="search",
    )

    def __init__(self, folder: str | Path, k: int = 3) -> None:
        self.folder = Path(folder)
        self.k = k
        self._docs: dict[str, Any] | None = None
        self._index: BM25Index | None = None

    def _load(self) -> BM25Index:
        if self._index is None:
            docs = load_documents(self.folder).documents
            self._docs = {d.id: d for d in docs}
            self._index = BM25Index([d.text for d in docs], [d.id for d in docs])
        return self._index

    def extract(self, clause: str) -> dict[str, Any] | None:
        query = _FILLER.sub("", clause.strip()).strip(" ?.!") or clause
        return {"query": query}

    def search(self, query: str, k: int | None = None) -> list[tuple[str, float]]:
        return self._load().search(query, k or self.k)

    def run(self, args: dict[str, Any]) -> str:
        hits = self.search(str(args["query"]), int(args.get("k") or self.k))
        if not hits:
            return "no matching files"
        assert self._docs is not None
        parts = []
        for doc_id, _ in hits:
            doc = self._docs[doc_id]
            prose = "\n".join(line for line in doc.text.splitlines()
                              if not line.lstrip().startswith("#"))
            body = split_sentences(prose)
            snippet = body[0] if body else doc.text[:160]
            parts.append(f"{doc_id}: {snippet[:200]}")
        return " | ".join(parts)
