"""The import-linter layer contract holds, and really fails on an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_layers_contract_passes_on_the_tree() -> None:
    result = _lint(ROOT / "src", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


PLANTS = {
    "plain": "import sage.cli.main  # upward: L1 -> L6\n",
    "type_checking": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import sage.cli.main  # upward: L1 -> L6, only for type checkers\n"
    ),
    "lazy_in_function": (
        "def f() -> None:\n"
        "    from sage.kernel import LocalEnvironment  # upward: L1 -> L3\n"
    ),
}


@pytest.mark.parametrize("kind", list(PLANTS))
def test_layers_contract_fails_on_planted_upward_import(tmp_path: Path, kind: str) -> None:
    shutil.copytree(ROOT / "src" / "sage", tmp_path / "src" / "sage",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    planted = tmp_path / "src" / "sage" / "common" / "planted.py"
    planted.write_text(PLANTS[kind])
    result = _lint(tmp_path / "src", tmp_path)
    assert result.returncode != 0, result.stdout
    assert "sage.common.planted" in result.stdout
