"""Datasets the agent benchmark runs on: the shipped synthetic set, BFCL files and
MetaTool-style awareness items, all turned into :class:`AgentItem` + a tool catalog."""

from __future__ import annotations

import csv
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sage.benchmark.agent.generator import CATALOG_FILE, DATA_DIR, ITEMS_FILE, POOL_SIZES
from sage.benchmark.agent.schema import AgentItem, ItemError, check_tool_ids, load_items
from sage.libs.agents.tools import Tool, load_catalog

BFCL_SELECTION = "BFCL_v4_multiple"
BFCL_POSITIVES = "BFCL_v4_simple_python"
BFCL_NEGATIVES = "BFCL_v4_irrelevance"
BFCL_PLANNING = "BFCL_v4_parallel_multiple"


@dataclass
class Dataset:
    name: str
    tools: dict[str, Tool]
    items: list[AgentItem]
    errors: list[ItemError] = field(default_factory=list)

    def candidates(self, item: AgentItem) -> list[Tool]:
        """The item's tools; the whole catalog when it names none."""
        if not item.candidates:
            return list(self.tools.values())
        return [self.tools[c] for c in item.candidates if c in self.tools]


def synthetic(data_dir: Path = DATA_DIR) -> Dataset:
    """The shipped set, or a folder with the same two files."""
    return from_files(data_dir / CATALOG_FILE, data_dir / ITEMS_FILE, "synthetic")


def from_files(catalog: Path, items_path: Path, name: str = "custom") -> Dataset:
    """A catalog + items in the shipped format; bad lines and unknown tool ids are
    reported by line number."""
    tools = {t.id: t for t in load_catalog(catalog)}
    items, errors = load_items(items_path)
    items, unknown = check_tool_ids(items, tools, str(items_path))
    return Dataset(name, tools, items, sorted(errors + unknown, key=lambda e: e.line))


# -- BFCL ----------------------------------------------------------------------------
def default_bfcl_dir(repo_root: Path | None = None) -> Path:
    """``$SAGE_BFCL_DIR``, else ``../shared/data/bfcl`` beside the repository."""
    env = os.environ.get("SAGE_BFCL_DIR")
    if env:
        return Path(env)
    root = repo_root or Path(__file__).resolve().parents[4]
    return root.parent / "shared" / "data" / "bfcl"


def _read_jsonl(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[ItemError]]:
    rows, errors = [], []
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
    return rows, errors


def _question(row: dict[str, Any]) -> str:
    turns = row.get("question")
    if isinstance(turns, str):
        return turns
    texts: list[str] = []
    for turn in turns or []:
        messages = turn if isinstance(turn, list) else [turn]
        for m in messages:
            if isinstance(m, dict) and m.get("role", "user") == "user" and m.get("content"):
                texts.append(str(m["content"]))
    if not texts:
        raise ValueError("no user question")
    return "\n".join(texts)


def _functions(row: dict[str, Any]) -> list[Tool]:
    funcs = row.get("function")
    if isinstance(funcs, dict):
        funcs = [funcs]
    if not isinstance(funcs, list) or not funcs:
        raise ValueError("no 'function' list")
    tools = []
    for f in funcs:
        if not isinstance(f, dict) or not f.get("name"):
            raise ValueError("a function without a name")
        tools.append(
            Tool(
                id=str(f["name"]),
                name=str(f["name"]),
                description=str(f.get("description", "")),
                parameters=dict(f.get("parameters") or {}),
                category="bfcl",
            )
        )
    return tools


def _answers(path: Path) -> dict[str, list[str]]:
    """id -> called function names, in order, from ``possible_answer/``."""
    if not path.exists():
        return {}
    out = {}
    rows, _ = _read_jsonl(path)
    for _, row in rows:
        calls = row.get("ground_truth") or []
        out[str(row.get("id"))] = [next(iter(c)) for c in calls if isinstance(c, dict) and c]
    return out


class _BfclReader:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.tools: dict[str, Tool] = {}
        self.errors: list[ItemError] = []

    def rows(self, stem: str) -> list[tuple[int, dict[str, Any], str, list[Tool]]]:
        path = self.dir / f"{stem}.json"
        if not path.exists():
            self.errors.append(ItemError(str(path), 0, "file not found"))
            return []
        raw, errors = _read_jsonl(path)
        self.errors += errors
        out = []
        for n, row in raw:
            try:
                question, tools = _question(row), _functions(row)
            except ValueError as exc:
                self.errors.append(ItemError(str(path), n, str(exc)))
                continue
            for t in tools:
                self.tools.setdefault(t.id, t)
            out.append((n, row, question, tools))
        return out

    def answers(self, stem: str) -> dict[str, list[str]]:
        return _answers(self.dir / "possible_answer" / f"{stem}.json")


def bfcl(
    directory: Path | None = None, seed: int = 0, pool_sizes: tuple[int, ...] = POOL_SIZES
) -> Dataset:
    """BFCL as-is: selection on ``multiple``, pooled selection (10/100/500) on
    ``simple_python`` with every file's functions as distractors, timing on
    ``simple_python`` (call) vs ``irrelevance`` (no call), planning on
    ``parallel_multiple``. Every item is in the ``test`` split.

    Raises ``FileNotFoundError`` when the folder holds none of the four files (the data
    is not set up here); a single missing file is reported as an item error."""
    folder = directory or default_bfcl_dir()
    stems = (BFCL_SELECTION, BFCL_POSITIVES, BFCL_NEGATIVES, BFCL_PLANNING)
    if not any((folder / f"{stem}.json").exists() for stem in stems):
        raise FileNotFoundError(
            f"no BFCL files ({', '.join(s + '.json' for s in stems)}) in {folder}; "
            "give --bfcl-dir or set SAGE_BFCL_DIR"
        )
    reader = _BfclReader(folder)
    items: list[AgentItem] = []

    def add(stem: str, n: int, **kw: Any) -> None:
        try:
            items.append(AgentItem.from_dict({"split": "test", **kw}))
        except ValueError as exc:
            reader.errors.append(ItemError(str(reader.dir / f"{stem}.json"), n, str(exc)))

    sel_rows = reader.rows(BFCL_SELECTION)
    sel_answers = reader.answers(BFCL_SELECTION)
    pos_rows = reader.rows(BFCL_POSITIVES)
    pos_answers = reader.answers(BFCL_POSITIVES)
    neg_rows = reader.rows(BFCL_NEGATIVES)
    plan_rows = reader.rows(BFCL_PLANNING)
    plan_answers = reader.answers(BFCL_PLANNING)

    for n, row, q, tools in sel_rows:
        gold = sel_answers.get(str(row.get("id")), [])[:1]
        add(
            BFCL_SELECTION,
            n,
            id=f"bfcl-{row.get('id')}",
            task="selection",
            instruction=q,
            candidates=[t.id for t in tools],
            gold_tools=gold,
            pool_size=len(tools),
            meta={"source": BFCL_SELECTION, "pooled": False},
        )

    everything = sorted(reader.tools)
    rng = random.Random(seed)
    for n, row, q, tools in pos_rows:
        gold = pos_answers.get(str(row.get("id")), [])[:1] or [tools[0].id]
        own = [t.id for t in tools]
        others = [t for t in everything if t not in own]
        rng.shuffle(others)
        for size in pool_sizes:
            pool = (own + others)[: max(size, len(own))]
            add(
                BFCL_POSITIVES,
                n,
                id=f"bfcl-{row.get('id')}-p{size}",
                task="selection",
                instruction=q,
                candidates=sorted(pool),
                gold_tools=gold,
                pool_size=len(pool),
                meta={"source": BFCL_POSITIVES, "pooled": True},
            )
        add(
            BFCL_POSITIVES,
            n,
            id=f"bfcl-{row.get('id')}-timing",
            task="timing",
            instruction=q,
            candidates=own,
            should_call=True,
            gold_tools=gold,
            meta={"source": BFCL_POSITIVES},
        )
    for n, row, q, tools in neg_rows:
        add(
            BFCL_NEGATIVES,
            n,
            id=f"bfcl-{row.get('id')}",
            task="timing",
            instruction=q,
            candidates=[t.id for t in tools],
            should_call=False,
            meta={"source": BFCL_NEGATIVES},
        )
    for n, row, q, tools in plan_rows:
        gold = plan_answers.get(str(row.get("id")), [])
        add(
            BFCL_PLANNING,
            n,
            id=f"bfcl-{row.get('id')}",
            task="planning",
            instruction=q,
            candidates=[t.id for t in tools],
            gold_tools=gold,
            pool_size=len(tools),
            meta={"source": BFCL_PLANNING, "length": len(gold)},
        )
    return Dataset("bfcl", reader.tools, items, reader.errors)


# -- MetaTool (tool-usage awareness) -------------------------------------------------
_TRUE = {"yes", "y", "true", "1", "positive", "tool"}
_FALSE = {"no", "n", "false", "0", "negative", "none"}


def _field(row: dict[str, Any], *names: str) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in row.items()}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def metatool(path: Path, tools: dict[str, Tool] | None = None) -> Dataset:
    """MetaTool awareness items (JSON list, JSONL or CSV with ``Query``/``Label``):
    timing items, label yes/no (or 1/0, true/false)."""
    path = Path(path)
    rows: list[tuple[int, Any]] = []
    errors: list[ItemError] = []
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        # Line numbers count the header as line 1.
        rows = [(n, r) for n, r in enumerate(csv.DictReader(text.splitlines()), 2)]
    else:
        try:
            data = json.loads(text)
            rows = list(enumerate(data if isinstance(data, list) else [data], 1))
        except ValueError:
            for n, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rows.append((n, json.loads(line)))
                except ValueError as exc:
                    errors.append(ItemError(str(path), n, f"invalid JSON: {exc}"))
    items = []
    for n, row in rows:
        if not isinstance(row, dict):
            errors.append(ItemError(str(path), n, "not an object"))
            continue
        query = _field(row, "query", "question", "prompt")
        label = _field(row, "label", "answer", "should_call", "need_tool")
        norm = str(label).strip().lower() if label is not None else ""
        if not query or not str(query).strip():
            errors.append(ItemError(str(path), n, "missing 'query'"))
            continue
        if norm not in _TRUE | _FALSE:
            errors.append(ItemError(str(path), n, f"label {label!r} is not yes/no"))
            continue
        items.append(
            AgentItem(
                id=f"metatool-{n}",
                task="timing",
                instruction=str(query).strip(),
                should_call=norm in _TRUE,
                split="test",
                meta={"source": path.name},
            )
        )
    return Dataset("metatool", dict(tools or {}), items, errors)
