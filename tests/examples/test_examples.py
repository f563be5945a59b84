"""Every file in ``examples/`` runs as a real program and exits 0.

The list is discovered, not hard-coded, so a new example is tested the day it lands.
Examples that talk to models get the session's gateway through ``SAGE_BASE_URL``
(otherwise they would start their own engines). Nothing is skipped: an example that
cannot run here fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# Lines an example must print (examples not listed only need to exit 0 with output).
EXPECTED: dict[str, list[str]] = {
    "hello_world.py": ["HELLO, WORLD! #1", "HELLO, WORLD! #5", "done"],
    "wordcount_keyed.py": ["the: 100", "words: 750, tokenized: 750"],
    "service_pipeline.py": ["-2 'Slow install and broken docs' keywords=['broken', 'install']"],
    "rag_qa.py": ["28 documents", "sources: cuisine", "sources: music"],
    "agent_tools.py": ["-> calculator({'expression': '17 * 23'}) -> 17 * 23 = 391",
                       "-> clock({'timezone': 'Asia/Tokyo'})", "file_search", "= 36"],
    "rag_remote.py": ["retrieval hits@5: 4/4"],
}


def test_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"rag_qa.py", "agent_tools.py", "rag_remote.py"} <= names


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, request: pytest.FixtureRequest) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(ROOT)}
    if "SAGE_BASE_URL" in script.read_text(encoding="utf-8"):
        env["SAGE_BASE_URL"] = request.getfixturevalue("gateway_url")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=300, cwd=ROOT, env=env)
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout}\n{result.stderr}"
    assert result.stdout.strip(), f"{script.name} printed nothing"
    for line in EXPECTED.get(script.name, []):
        assert line in result.stdout, f"{script.name}: missing {line!r}\n{result.stdout}"
