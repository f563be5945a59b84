"""BFCL files as agent items (Berkeley Function Calling Leaderboard, files used as they
are). Tools are keyed per definition (BFCL reuses names with different definitions),
gold comes only from ``possible_answer/`` (an item without one is reported, not
guessed), and every item gets a fixed train/dev/test split (60/20/20 per file) so
strategies can be tuned on BFCL without touching the items they are scored on."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path
from typing import Any

from sage.benchmark.agent.schema import ItemError
from sage.libs.agents.tools import Tool

BFCL_SELECTION = "BFCL_v4_multiple"
BFCL_POSITIVES = "BFCL_v4_simple_python"
BFCL_NEGATIVES = "BFCL_v4_irrelevance"
BFCL_PLANNING = "BFCL_v4_parallel_multiple"
CALLING_FILES = (BFCL_POSITIVES, BFCL_SELECTION, BFCL_PLANNING, BFCL_NEGATIVES)
SPLIT_SEED = 0  # fixed: the splits must not move with --seed
POOL_SIZES = (10, 100, 500)


def default_bfcl_dir(repo_root: Path | None = None) -> Path:
    """``$SAGE_BFCL_DIR``, else ``../shared/data/bfcl`` beside the repository."""
    env = os.environ.get("SAGE_BFCL_DIR")
    if env:
        return Path(env)
    root = repo_root or Path(__file__).resolve().parents[4]
    return root.parent / "shared" / "data" / "bfcl"


def is_negative(stem: str) -> bool:
    """Irrelevance files: no offered function fits, calling none is right."""
    return "irrelevance" in stem


def tool_id(function: dict[str, Any]) -> str:
    """``name#hash``: one id per distinct definition."""
    digest = hashlib.sha1(json.dumps(function, sort_keys=True).encode()).hexdigest()[:6]
    return f"{function['name']}#{digest}"


def _question(row: dict[str, Any]) -> str:
    turns = row.get("question")
    if isinstance(turns, str):
        return turns
    texts: list[str] = []
    for turn in turns or []:
        for m in turn if isinstance(turn, list) else [turn]:
            if isinstance(m, dict) and m.get("role", "user") == "user" and m.get("content"):
                texts.append(str(m["content"]))
    if not texts:
        raise ValueError("no user question")
    return "\n".join(texts)


def _functions(row: dict[str, Any], allow_none: bool) -> list[dict[str, Any]]:
    funcs = row.get("function")
    if isinstance(funcs, dict):
        funcs = [funcs]
    if funcs in (None, []) and allow_none:
        return []  # an irrelevance item offering nothing: still a "no call" item
    if not isinstance(funcs, list) or not funcs:
        raise ValueError("no 'function' list")
    if not all(isinstance(f, dict) and f.get("name") for f in funcs):
        raise ValueError("a function without a name")
    return funcs


def as_tool(function: dict[str, Any]) -> Tool:
    return Tool(
        id=tool_id(function),
        name=str(function["name"]),
        description=str(function.get("description", "")),
        parameters=dict(function.get("parameters") or {}),
        category="bfcl",
    )


def _read_jsonl(path: Path, errors: list[ItemError]) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            rows.append((n, row))
        except ValueError as exc:
            errors.append(ItemError(str(path), n, f"invalid JSON: {exc}"))
    return rows


class BfclRow:
    """One parsed item line: question, offered functions (raw and as tools), answer."""

    def __init__(self, stem: str, line: int, row: dict[str, Any], answer: list[Any] | None):
        self.stem, self.line, self.id = stem, line, str(row.get("id"))
        self.question = _question(row)
        self.functions = _functions(row, allow_none=is_negative(stem))
        self.tools = [as_tool(f) for f in self.functions]
        self.answer = answer  # BFCL ground_truth: [{name: {param: [accepted values]}}]
        self.split = "test"

    def gold_ids(self) -> list[str]:
        """Ids of the offered tools the answer calls, one per call (repeats kept)."""
        by_name = {t.name: t.id for t in self.tools}
        names = [next(iter(c)) for c in self.answer or [] if isinstance(c, dict) and c]
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"answer calls {missing[0]!r}, which the item does not offer")
        return [by_name[n] for n in names]


class BfclFolder:
    """Reads a BFCL folder once; errors are kept per line."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.errors: list[ItemError] = []
        self.rows: dict[str, list[BfclRow]] = {}
        for path in sorted(directory.glob("BFCL_*.json")):
            self.rows[path.stem] = self._load(path)
        for stem in CALLING_FILES:
            if stem not in self.rows:
                self.errors.append(ItemError(str(directory / f"{stem}.json"), 0, "file not found"))

    def _answers(self, stem: str) -> dict[str, list[Any]] | None:
        path = self.dir / "possible_answer" / f"{stem}.json"
        if not path.exists():
            return None
        return {
            str(r.get("id")): list(r.get("ground_truth") or [])
            for _, r in _read_jsonl(path, self.errors)
        }

    def _load(self, path: Path) -> list[BfclRow]:
        answers = self._answers(path.stem)
        out = []
        for n, raw in _read_jsonl(path, self.errors):
            try:
                answer = None if answers is None else answers.get(str(raw.get("id")))
                out.append(BfclRow(path.stem, n, raw, answer))
            except (ValueError, TypeError) as exc:
                self.errors.append(ItemError(str(path), n, str(exc)))
        ids = sorted(r.id for r in out)
        random.Random(SPLIT_SEED).shuffle(ids)
        cut1, cut2 = round(len(ids) * 0.6), round(len(ids) * 0.8)
        split = {i: ("train" if k < cut1 else "dev" if k < cut2 else "test") for k, i in enumerate(ids)}
        for r in out:
            r.split = split[r.id]
        return out

    def tools(self) -> dict[str, Tool]:
        return {t.id: t for rows in self.rows.values() for r in rows for t in r.tools}
