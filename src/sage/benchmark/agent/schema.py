"""One JSONL item schema for all three agent tasks, and a loader that reports bad lines
by number instead of crashing.

selection: ``gold_tools`` holds the right tool(s); ``candidates`` is the pool.
planning:  ``gold_tools`` is the ordered list of calls.
timing:    ``should_call`` is the label; ``candidates`` are the tools on offer.
calling:   ``meta["functions"]`` / ``meta["answer"]`` hold BFCL's definitions and
           possible answers; ``gold_tools`` is empty where no call is right.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("selection", "planning", "timing", "calling")


@dataclass
class AgentItem:
    id: str
    task: str
    instruction: str
    candidates: list[str] = field(default_factory=list)
    gold_tools: list[str] = field(default_factory=list)
    should_call: bool | None = None
    split: str = "test"
    pool_size: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    line: int | None = field(default=None, compare=False)  # where it was read, for errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "split": self.split,
            "instruction": self.instruction,
            "candidates": self.candidates,
            "gold_tools": self.gold_tools,
            "should_call": self.should_call,
            "pool_size": self.pool_size,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: Any) -> AgentItem:
        """Validate one decoded line; ``ValueError`` says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("an item must be a JSON object")
        for key in ("id", "task", "instruction"):
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise ValueError(f"missing or empty string field {key!r}")
        task = data["task"]
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
        candidates = data.get("candidates", [])
        gold = data.get("gold_tools", [])
        for key, value in (("candidates", candidates), ("gold_tools", gold)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{key!r} must be a list of strings")
        should_call = data.get("should_call")
        if task == "timing" and not isinstance(should_call, bool):
            raise ValueError("timing items need a boolean 'should_call'")
        if task in ("selection", "planning") and not gold:
            raise ValueError(f"{task} items need a non-empty 'gold_tools'")
        if task == "selection" and candidates and not set(gold) & set(candidates):
            raise ValueError("no gold tool is among the candidates")
        pool = data.get("pool_size")
        return cls(
            id=data["id"],
            task=task,
            instruction=data["instruction"],
            candidates=list(candidates),
            gold_tools=list(gold),
            should_call=should_call,
            split=str(data.get("split", "test")),
            pool_size=int(pool) if pool is not None else (len(candidates) or None),
            meta=dict(data.get("meta") or {}),
        )


@dataclass(frozen=True)
class ItemError:
    """A line that could not be used, kept for the report."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


def load_items(path: str | Path) -> tuple[list[AgentItem], list[ItemError]]:
    """Items from a JSONL file plus one :class:`ItemError` per malformed line."""
    path = Path(path)
    items: list[AgentItem] = []
    errors: list[ItemError] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = AgentItem.from_dict(json.loads(line))
                item.line = n
                items.append(item)
            except ValueError as exc:  # JSONDecodeError is a ValueError
                errors.append(ItemError(str(path), n, str(exc)))
    return items, errors


def check_tool_ids(
    items: list[AgentItem], known: set[str] | dict[str, Any], source: str
) -> tuple[list[AgentItem], list[ItemError]]:
    """Drop (and report) items naming tools the catalog does not have."""
    kept, errors = [], []
    for item in items:
        unknown = [t for t in (*item.candidates, *item.gold_tools) if t not in known]
        if unknown:
            errors.append(
                ItemError(source, item.line or 0, f"unknown tool id(s) {sorted(set(unknown))[:5]}")
            )
        else:
            kept.append(item)
    return kept, errors
