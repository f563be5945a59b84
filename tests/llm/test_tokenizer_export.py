"""``sage llm tokenizer``: a Hugging Face tokenizer built offline from the GGUF, which
tokenizes exactly as the engine does (what benchmark clients count must be the truth)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sage.cli.main import app
from sage.common.models import default_llm_path


def test_exported_tokenizer_matches_llama_cpp(tmp_path: Path) -> None:
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    result = CliRunner().invoke(app, ["llm", "tokenizer", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tokenizer.json").is_file()
    hf = AutoTokenizer.from_pretrained(str(tmp_path))
    llm = Llama(str(default_llm_path()), vocab_only=True, verbose=False)
    for text in ["Hello world!", "naïve café 🎉 12345\n\n\ttabs", "<|im_start|>user\nhi<|im_end|>"]:
        assert hf.encode(text, add_special_tokens=False) == llm.tokenize(
            text.encode(), add_bos=False, special=True
        )
    assert hf.chat_template
