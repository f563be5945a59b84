"""Datasets the agent benchmark runs on: the shipped synthetic set, BFCL files and
MetaTool-style awareness items, all turned into :class:`AgentItem` + a tool catalog
keyed per definition."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sage.benchmark.agent.bfcl import (
    BFCL_NEGATIVES,
    BFCL_PLANNING,
    BFCL_POSITIVES,
    BFCL_SELECTION,
    CALLING_FILES,
    BfclFolder,
    BfclRow,
    default_bfcl_dir,
    is_negative,
)
from sage.benchmark.agent.generator import CATALOG_FILE, DATA_DIR, ITEMS_FILE, POOL_SIZES
from sage.benchmark.agent.schema import AgentItem, ItemError, check_tool_ids, load_items
from sage.libs.agents.tools import Tool, load_catalog


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
def bfcl(
    directory: Path | None = None, seed: int = 0, pool_sizes: tuple[int, ...] = POOL_SIZES
) -> Dataset:
    """BFCL as-is: selection on ``multiple``, pooled selection (10/100/500) on
    ``simple_python`` with every file's functions as distractors (never one with the
    gold's name), timing on every file (irrelevance files: no call; all others: call),
    planning on ``parallel_multiple`` (order-free), calling on simple_python, multiple,
    parallel_multiple and irrelevance. Splits are fixed per file (see :mod:`bfcl`).

    Raises ``FileNotFoundError`` when the folder holds none of the files (the data is
    not set up here); a single missing file is reported as an item error."""
    folder = directory or default_bfcl_dir()
    if not any((folder / f"{stem}.json").exists() for stem in CALLING_FILES):
        raise FileNotFoundError(
            f"no BFCL files ({', '.join(s + '.json' for s in CALLING_FILES)}) in {folder}; "
            "give --bfcl-dir or set SAGE_BFCL_DIR"
        )
    src = BfclFolder(folder)
    tools = src.tools()
    items: list[AgentItem] = []
    errors = list(src.errors)

    def add(row: BfclRow, **kw: Any) -> None:
        try:
            items.append(
                AgentItem.from_dict({"split": row.split, "instruction": row.question, **kw})
            )
        except ValueError as exc:
            errors.append(ItemError(str(folder / f"{row.stem}.json"), row.line, str(exc)))

    def gold(row: BfclRow) -> list[str] | None:
        """The answer's tool ids; None (reported) where there is no answer: never guessed."""
        problem = "no possible answer for this id" if row.answer is None else None
        if problem is None:
            try:
                return row.gold_ids()
            except ValueError as exc:
                problem = str(exc)
        errors.append(ItemError(str(folder / f"{row.stem}.json"), row.line, problem))
        return None

    def native(row: BfclRow, task: str, **kw: Any) -> None:
        """An item over the row's own functions, if it has an answer."""
        ids = gold(row)
        if ids:
            candidates = [t.id for t in row.tools]
            gold_tools = list(dict.fromkeys(ids)) if task == "selection" else ids
            add(row, id=f"bfcl-{row.id}", task=task, candidates=candidates,
                gold_tools=gold_tools, **kw)

    rows = src.rows
    for row in rows.get(BFCL_SELECTION, []):
        native(row, "selection", meta={"source": BFCL_SELECTION, "pooled": False})
    everything = sorted(tools)
    rng = random.Random(seed)
    for row in rows.get(BFCL_POSITIVES, []):
        ids = gold(row)
        if not ids:
            continue
        own = [t.id for t in row.tools]
        names = {t.name for t in row.tools}
        others = [t for t in everything if tools[t].name not in names]
        rng.shuffle(others)
        for size in pool_sizes:
            pool = (own + others)[: max(size, len(own))]
            add(
                row,
                id=f"bfcl-{row.id}-p{size}",
                task="selection",
                candidates=sorted(pool),
                gold_tools=list(dict.fromkeys(ids)),
                pool_size=len(pool),
                meta={"source": BFCL_POSITIVES, "pooled": True},
            )
    for stem, file_rows in rows.items():
        for row in file_rows:
            add(
                row,
                id=f"bfcl-{row.id}-timing",
                task="timing",
                candidates=[t.id for t in row.tools],
                should_call=not is_negative(stem),
                meta={"source": stem},
            )
    for row in rows.get(BFCL_PLANNING, []):
        length = len(row.answer or [])
        native(row, "planning", pool_size=len(row.tools),
               meta={"source": BFCL_PLANNING, "length": length, "order_free": True})
    for stem in CALLING_FILES:
        for row in rows.get(stem, []):
            if not is_negative(stem) and gold(row) is None:
                continue
            add(
                row,
                id=f"bfcl-{row.id}-call",
                task="calling",
                candidates=[t.id for t in row.tools],
                gold_tools=[] if is_negative(stem) else (row.gold_ids()),
                meta={"source": stem, "functions": row.functions, "answer": row.answer or []},
            )
    return Dataset("bfcl", tools, items, errors)


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


__all__ = [
    "BFCL_NEGATIVES",
    "BFCL_PLANNING",
    "BFCL_POSITIVES",
    "BFCL_SELECTION",
    "Dataset",
    "bfcl",
    "default_bfcl_dir",
    "from_files",
    "metatool",
    "synthetic",
]
