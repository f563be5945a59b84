"""Structured replies from a chat model: the ``response_format`` that asks an
OpenAI-compatible server for grammar-constrained JSON, and lenient parsing for servers
(or models) that answer in free text."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json)?", re.IGNORECASE)
_TRAILING_COMMA = re.compile(r",\s*([\]}])")
_QUOTED = re.compile(r"[\"']([A-Za-z0-9_.\-/]+)[\"']")
_PLAN_KEYS = frozenset({"steps", "plan", "tools", "calls", "actions", "tool", "name", "function"})


def json_schema_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's ``response_format`` for output that must validate against ``schema``."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def enum_schema(key: str, choices: list[str]) -> dict[str, Any]:
    """``{key: one of choices}``: the model can only name something that exists."""
    return {
        "type": "object",
        "properties": {key: {"type": "string", "enum": list(dict.fromkeys(choices))}},
        "required": [key],
    }


def extract_json(text: str) -> tuple[Any, bool]:
    """The first JSON array/object in ``text`` and whether it needed repair; (None, True)
    when nothing parses. Repairs: code fences, single quotes, trailing commas, a missing
    closing bracket."""
    body = _FENCE.sub("", text).strip()
    try:
        return json.loads(body), False
    except ValueError:
        pass
    starts = [i for i in (body.find("["), body.find("{")) if i >= 0]
    if not starts:
        return None, True
    start = min(starts)
    opener = body[start]
    closer = "]" if opener == "[" else "}"
    end = body.rfind(closer)
    candidate = body[start : end + 1] if end > start else body[start:] + closer
    for attempt in (
        candidate,
        _TRAILING_COMMA.sub(r"\1", candidate),
        _TRAILING_COMMA.sub(r"\1", candidate.replace("'", '"')),
    ):
        try:
            return json.loads(attempt), True
        except ValueError:
            continue
    # Cut off mid-list (max_tokens): keep the complete quoted names.
    names = [n for n in _QUOTED.findall(body[start:]) if n not in _PLAN_KEYS]
    return (names, True) if names else (None, True)


def parse_json_object(text: str) -> dict[str, Any] | None:
    """``text`` as a JSON object (after light repair), else None."""
    data, _ = extract_json(text)
    return data if isinstance(data, dict) else None
