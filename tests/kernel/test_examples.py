"""The kernel examples run as real programs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(("script", "expected"), [
    ("hello_world.py", ["HELLO, WORLD! #1", "HELLO, WORLD! #5", "done"]),
    ("wordcount_keyed.py", ["the: 100", "words: 750, tokenized: 750"]),
    ("service_pipeline.py", ["-2 'Slow install and broken docs' keywords=['broken', 'install']"]),
])
def test_example_runs(script: str, expected: list[str]) -> None:
    result = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for line in expected:
        assert line in result.stdout
