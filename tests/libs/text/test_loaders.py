"""Loaders read txt/md/jsonl/pdf and skip bad documents with a counted warning."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from sage.libs.text import load_documents, load_file


def _write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def test_loads_txt_md_and_jsonl(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "Plain text about tides.\n")
    _write(tmp_path / "b.md", "# Title B\n\nBody of b.\n")
    rows = [{"id": "j1", "text": "first row", "lang": "en"}, {"text": "second row"}]
    _write(tmp_path / "c.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    report = load_documents(tmp_path)
    by_id = {d.id: d for d in report.documents}
    assert set(by_id) == {"a", "b", "j1", "c-2"}
    assert by_id["b"].metadata["title"] == "Title B"
    assert by_id["j1"].metadata["lang"] == "en"
    assert report.skipped_count == 0


def test_bad_documents_are_skipped_and_counted(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path / "good.md", "# Good\n\nFine text.\n")
    _write(tmp_path / "empty.txt", "   \n\n")
    _write(tmp_path / "binary.txt", b"\x00\x01\x02PNG\x00")
    _write(tmp_path / "latin1.txt", "caf\xe9".encode("latin-1"))
    _write(tmp_path / "huge.md", "word " * 5000)
    _write(tmp_path / "broken.pdf", b"%PDF-1.4 not really a pdf")
    _write(tmp_path / "rows.jsonl", '{"id": "ok", "text": "fine"}\nnot json\n{"id": "x"}\n[1]\n')
    with caplog.at_level(logging.WARNING, logger="sage.libs.text"):
        report = load_documents(tmp_path, max_bytes=10_000)
    assert sorted(d.id for d in report.documents) == ["good", "ok"]
    reasons = {Path(where.split(":")[0]).name + (":" + where.split(":")[1] if ":" in where
                                                  else ""): why
               for where, why in report.skipped}
    assert report.skipped_count == 8
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "too large" in reasons["huge.md"]
    assert "PDF" in reasons["broken.pdf"]
    assert "invalid JSON" in reasons["rows.jsonl:2"]
    assert "skipped 8" in caplog.text


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF drawing ``lines`` in Helvetica (hand-built: pypdf cannot draw text)."""
    stream = "BT /F1 12 Tf 20 150 Td " + " ".join(f"({t}) Tj 0 -16 Td" for t in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return out


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    _write(tmp_path / "turtles.pdf", text_pdf(["Lantern turtles nest on Calla.", "In June."]))
    report = load_documents(tmp_path)
    assert report.skipped_count == 0
    (doc,) = report.documents
    assert doc.id == "turtles" and doc.metadata["format"] == "pdf"
    assert "Lantern turtles nest on Calla." in doc.text and "In June." in doc.text
    assert doc.metadata["title"] == "Lantern turtles nest on Calla."


def test_blank_pdf_is_a_counted_skip(tmp_path: Path) -> None:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    path = tmp_path / "blank.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    report = load_documents(path)  # a blank page has no text: a counted skip, no crash
    assert report.documents == [] and report.skipped_count == 1


def test_missing_path_and_unsupported_suffix_are_skips(tmp_path: Path) -> None:
    report = load_documents([tmp_path / "nope", _write(tmp_path / "x.csv", "a,b")])
    assert report.skipped_count == 2
    assert load_file(tmp_path / "x.csv") == []
