"""Tool catalog format: one JSON object per line with id, name, description,
parameters (JSON Schema) and category."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SPLIT = re.compile(r"[._\-/]+|(?<=[a-z])(?=[A-Z])")


def split_name(name: str) -> list[str]:
    """``calc.triangleArea`` -> ``["calc", "triangle", "Area"]``."""
    return [p for p in _SPLIT.split(name) if p]


@dataclass(frozen=True)
class Tool:
    id: str
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    category: str = ""

    def text(self) -> str:
        """What retrieval sees: readable name, description and parameter names."""
        cached = self.__dict__.get("_text")
        if cached is None:
            name = " ".join(p for p in _SPLIT.split(self.name) if p)
            props = self.parameters.get("properties", {}) if isinstance(self.parameters, dict) else {}
            params = " ".join(" ".join(_SPLIT.split(str(k))) for k in props)
            cached = f"{name}. {self.description} {params}".strip()
            object.__setattr__(self, "_text", cached)  # frozen, and asked for per query
        return cached

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "category": self.category,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tool:
        if "id" not in data and "name" not in data:
            raise ValueError("a tool needs an 'id' or a 'name'")
        return cls(
            id=str(data.get("id") or data["name"]),
            name=str(data.get("name") or data["id"]),
            description=str(data.get("description", "")),
            parameters=dict(data.get("parameters") or {}),
            category=str(data.get("category", "")),
        )


def load_catalog(path: str | Path) -> list[Tool]:
    """Tools from a JSONL catalog; raises ``ValueError`` naming the bad line."""
    tools = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            tools.append(Tool.from_dict(json.loads(line)))
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{path}:{n}: bad tool: {exc}") from exc
    return tools


def save_catalog(tools: Iterable[Tool], path: str | Path) -> None:
    lines = [json.dumps(t.to_dict(), sort_keys=True) for t in tools]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
