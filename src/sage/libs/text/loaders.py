"""Load documents from .txt, .md, .jsonl and .pdf files.

Corpora in the wild hold empty files, binaries with a text extension and the odd
multi-gigabyte dump. One bad file must not end an indexing run, so each is skipped with
a warning and counted in :class:`LoadReport`; the caller decides whether that is fatal.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("sage.libs.text")

SUFFIXES = (".txt", ".md", ".markdown", ".jsonl", ".pdf")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass
class Document:
    """A loaded document. ``id`` is stable (file stem, or the jsonl ``id`` field)."""

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadReport:
    """What a load produced and what it skipped (path or ``path:line``, reason)."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def skipped_count(self) -> int:
        return len(self.skipped)

    def skip(self, where: str, reason: str) -> None:
        self.skipped.append((where, reason))
        log.warning("skipped %s: %s", where, reason)


class BadDocument(ValueError):
    """A file that cannot be used as a document (the message says why)."""


def _decode(raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise BadDocument("binary content (NUL bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadDocument(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped:
            return stripped.lstrip("#").strip() or fallback
    return fallback


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        return "\n\n".join((page.extract_text() or "") for page in reader.pages)
    except (PdfReadError, ValueError, OSError) as exc:
        raise BadDocument(f"unreadable PDF ({exc})") from None


def load_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
              report: LoadReport | None = None) -> list[Document]:
    """The documents in one file (a .jsonl file holds one per line); bad ones are
    recorded in ``report`` (a fresh one when omitted) and left out."""
    path = Path(path)
    report = report if report is not None else LoadReport()
    suffix = path.suffix.lower()
    try:
        if suffix not in SUFFIXES:
            raise BadDocument(f"unsupported file type {suffix or '(none)'!r}")
        size = path.stat().st_size
        if size > max_bytes:
            raise BadDocument(f"too large ({size} bytes > {max_bytes})")
        text = _pdf_text(path) if suffix == ".pdf" else _decode(path.read_bytes())
        if suffix == ".jsonl":
            return _jsonl_documents(path, text, report)
        if not text.strip():
            raise BadDocument("empty")
    except BadDocument as exc:
        report.skip(str(path), str(exc))
        return []
    except OSError as exc:
        report.skip(str(path), f"cannot read ({exc.strerror or exc})")
        return []
    doc = Document(path.stem, text, {"source": str(path), "title": _title(text, path.stem),
                                     "format": suffix.lstrip(".")})
    return [doc]


def _jsonl_documents(path: Path, text: str, report: LoadReport) -> list[Document]:
    docs: list[Document] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            report.skip(where, f"invalid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            report.skip(where, "not a JSON object")
            continue
        body = row.get("text") or row.get("content")
        if not isinstance(body, str) or not body.strip():
            report.skip(where, "no non-empty 'text' field")
            continue
        doc_id = str(row.get("id") or f"{path.stem}-{n}")
        meta = {k: v for k, v in row.items() if k not in ("id", "text", "content")}
        meta.setdefault("source", where)
        meta.setdefault("title", _title(body, doc_id))
        meta["format"] = "jsonl"
        docs.append(Document(doc_id, body, meta))
    if not docs and not report.skipped:
        report.skip(str(path), "empty")
    return docs


def load_documents(paths: str | Path | Iterable[str | Path], *,
                   max_bytes: int = DEFAULT_MAX_BYTES) -> LoadReport:
    """Load every supported file under the given files/folders (recursively, sorted).

    Files with other suffixes inside a folder are ignored silently (a folder of notes has
    images too); a file named explicitly with an unsupported suffix is a counted skip.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    report = LoadReport()
    for item in items:
        root = Path(item)
        if root.is_dir():
            files = sorted(p for p in root.rglob("*")
                           if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif root.exists():
            files = [root]
        else:
            report.skip(str(root), "no such file or folder")
            continue
        for file in files:
            report.documents.extend(load_file(file, max_bytes=max_bytes, report=report))
    if report.skipped:
        log.warning("loaded %d documents, skipped %d", len(report.documents),
                    report.skipped_count)
    return report
