"""Text ingestion: documents from files (txt, md, jsonl, pdf) and chunkers.

Pure algorithms: no network, no engines. Bad files are skipped and counted, never fatal.
"""

from sage.libs.text.chunking import (
    Chunk,
    chunk_documents,
    chunk_fixed,
    chunk_markdown,
    chunk_sentences,
    split_sentences,
)
from sage.libs.text.loaders import Document, LoadReport, load_documents, load_file

__all__ = [
    "Chunk",
    "Document",
    "LoadReport",
    "chunk_documents",
    "chunk_fixed",
    "chunk_markdown",
    "chunk_sentences",
    "load_documents",
    "load_file",
    "split_sentences",
]
