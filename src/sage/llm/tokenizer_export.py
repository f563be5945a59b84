"""A Hugging Face tokenizer folder for a GGUF model, built offline from the vocabulary
inside the GGUF (transformers' GGUF converter): benchmark clients such as GuideLLM
count tokens with it instead of downloading the model's tokenizer from a hub."""

from __future__ import annotations

import os
from pathlib import Path

from sage.common.errors import ConfigError


def export_tokenizer(gguf_path: Path, out_dir: Path) -> list[Path]:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and the chat template of
    ``gguf_path`` into ``out_dir``; returns the files written."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gguf  # noqa: F401  (transformers reads GGUF through it)
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise ConfigError(
            f"exporting a tokenizer needs transformers and gguf ({exc.name} is missing): "
            "pip install 'sage[llm,embed]'"
        ) from None
    if not gguf_path.is_file():
        raise ConfigError(f"no GGUF file at {gguf_path}")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [Path(p) for p in tokenizer.save_pretrained(str(out_dir))]
