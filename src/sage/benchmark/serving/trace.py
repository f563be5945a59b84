"""Trace replay: a recorded request log (JSONL or CSV) turned into a :class:`Workload`.

One request per line/row with ``timestamp`` (seconds; any origin), ``kind`` (``chat``,
``llm``, ``completion`` or ``embedding``), ``tenant`` (optional), ``prompt_tokens``,
``output_tokens`` (chat) and ``n_inputs`` (embeddings, optional). A bad line stops the
load with its line number, so nothing is dropped silently.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sage.benchmark.serving.workload import Workload

_KINDS = {"chat": "llm", "llm": "llm", "completion": "llm", "embedding": "embedding"}


class TraceError(ValueError):
    """A trace file that cannot be replayed; the message names the file and line."""


class TraceRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timestamp: float = Field(ge=0)
    kind: str
    tenant: str = "default"
    prompt_tokens: int = Field(ge=0)
    output_tokens: int = Field(0, ge=0)
    n_inputs: int = Field(1, ge=1)
    prefix: int = Field(-1, ge=-1, description="shared prefix id (a session, a system prompt)")
    prefix_tokens: int = Field(0, ge=0, description="tokens of that prefix before the prompt")


def _rows(path: Path) -> list[tuple[int, dict[str, object]]]:
    """(line number, raw fields) per request line; blank lines and ``#`` comments skipped."""
    text = path.read_text()
    if path.suffix.lower() == ".csv":
        lines = text.splitlines()
        reader = csv.DictReader(lines)
        out = []
        for row in reader:
            fields = {k.strip(): v.strip() for k, v in row.items() if k and v not in (None, "")}
            if fields:
                out.append((reader.line_num, fields))
        return out
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise TraceError(f"{path}:{number}: expected a JSON object per line")
        out.append((number, value))
    return out


def load_trace(path: str | Path, time_scale: float = 1.0) -> Workload:
    """The requests of ``path``; times start at 0 and are multiplied by ``time_scale``
    (0.5 replays twice as fast)."""
    path = Path(path)
    if not path.exists():
        raise TraceError(f"{path}: no such trace file")
    if time_scale <= 0:
        raise TraceError(f"time_scale must be positive, not {time_scale}")
    rows: list[TraceRow] = []
    for number, fields in _rows(path):
        try:
            row = TraceRow.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ())) or "row"
            raise TraceError(f"{path}:{number}: {where}: {first['msg']}") from None
        if row.kind not in _KINDS:
            raise TraceError(
                f"{path}:{number}: kind must be one of {sorted(_KINDS)}, not {row.kind!r}"
            )
        rows.append(row)
    if not rows:
        raise TraceError(f"{path}: the trace has no requests")
    start = min(r.timestamp for r in rows)
    span = (max(r.timestamp for r in rows) - start) * time_scale
    return Workload.from_rows(
        [(r.timestamp - start) * time_scale for r in rows],
        [_KINDS[r.kind] for r in rows],
        [r.tenant for r in rows],
        [r.prompt_tokens for r in rows],
        [r.output_tokens if _KINDS[r.kind] == "llm" else 0 for r in rows],
        [r.n_inputs if _KINDS[r.kind] == "embedding" else 1 for r in rows],
        prefix=[r.prefix for r in rows] if any(r.prefix >= 0 for r in rows) else None,
        prefix_tokens=[r.prefix_tokens for r in rows],
        meta={
            "trace": str(path),
            "time_scale": time_scale,
            "rate": len(rows) / span if span > 0 else float(len(rows)),
            "duration": span,
        },
    )
