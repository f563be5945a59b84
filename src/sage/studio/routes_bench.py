"""Benchmarks API: the runs under ``results/`` (serving serve/compare/simulate, agent,
simulator validation), their summary rows for a side-by-side table, and their files
(HTML reports, plots) served read-only from the results folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from sage.studio.state import Studio, studio_of

router = APIRouter(prefix="/api/bench")

MARKERS = ("summary.json", "results.json", "validation.json", "report.html")
MAX_DEPTH = 3
MAX_RUNS = 500
SHOWN_FILES = (".html", ".png", ".svg", ".json")


def _kind(folder: Path) -> tuple[str, str]:
    """(kind, title) of a run folder from the files its command wrote."""
    summary = folder / "summary.json"
    if summary.is_file():
        title = str(_read(summary).get("title", folder.name))
        for kind in ("compare", "simulate", "serve"):
            if f"bench {kind}" in title:
                return kind, title
        return "serving", title
    if (folder / "results.json").is_file():
        return "agent", f"sage bench agent: {folder.name}"
    if (folder / "validation.json").is_file():
        return "validate", f"simulator validation: {folder.name}"
    return "report", folder.name


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {"value": data}


def find_runs(root: Path) -> list[dict[str, Any]]:
    """Run folders under ``root`` (newest first), each with its report and plots."""
    if not root.is_dir():
        return []
    found: list[dict[str, Any]] = []
    stack = [(root, 0)]
    while stack and len(found) < MAX_RUNS:
        folder, depth = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        names = {e.name for e in entries}
        if any(m in names for m in MARKERS):
            kind, title = _kind(folder)
            rel = folder.relative_to(root).as_posix()
            found.append({
                "path": rel, "kind": kind, "title": title,
                "mtime": folder.stat().st_mtime,
                "report": f"{rel}/report.html" if "report.html" in names else None,
                "files": [f"{rel}/{e.name}" for e in entries
                          if e.is_file() and e.suffix in SHOWN_FILES],
            })
        if depth < MAX_DEPTH:
            stack += [(e, depth + 1) for e in entries
                      if e.is_dir() and not e.name.startswith(".") and e.name != "runs"]
    return sorted(found, key=lambda r: r["mtime"], reverse=True)


def _run_folder(root: Path, rel: str) -> Path:
    folder = (root / rel).resolve()
    if not folder.is_dir() or not folder.is_relative_to(root.resolve()):
        raise HTTPException(404, f"no run {rel!r} under {root}")
    return folder


@router.get("/runs")
async def runs(studio: Studio = Depends(studio_of)) -> dict[str, Any]:
    root = studio.config.results_dir
    return {"results_dir": str(root.resolve()), "runs": find_runs(root)}


@router.get("/summary")
async def summary(path: str, studio: Studio = Depends(studio_of)) -> dict[str, Any]:
    """A run's table rows (serving ``rows``, agent ``summary``) and its configuration."""
    folder = _run_folder(studio.config.results_dir, path)
    for name in ("summary.json", "results.json", "validation.json"):
        if (folder / name).is_file():
            data = _read(folder / name)
            rows = data.get("rows") if isinstance(data.get("rows"), list) else None
            if rows is None and isinstance(data.get("summary"), list):
                rows = data["summary"]
            if rows is None:
                rows = [{k: v for k, v in data.items() if not isinstance(v, dict | list)}]
            kind, title = _kind(folder)
            return {"path": path, "kind": kind, "title": title, "rows": rows,
                    "config": data.get("config", {}), "notes": data.get("notes", [])}
    return {"path": path, "kind": "report", "title": folder.name, "rows": [], "config": {}}
