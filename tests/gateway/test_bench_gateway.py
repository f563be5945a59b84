"""``sage bench gateway`` runs end to end (tiny sizes; figures are not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sage.cli.main import app


def test_bench_gateway_overhead_smoke(tmp_path: Path) -> None:
    out = tmp_path / "gw.json"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "gateway",
            "-s",
            "overhead",
            "-r",
            "1",
            "-n",
            "40",
            "-c",
            "4",
            "--latency-requests",
            "10",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    for client in ("aiohttp", "httpx"):
        overhead = report["results"]["overhead"][client]
        assert overhead["errors"] == 0
        assert overhead["gateway_rps"] > 0 and overhead["direct_rps"] > 0


def test_bench_gateway_rejects_unknown_scenario() -> None:
    result = CliRunner().invoke(app, ["bench", "gateway", "-s", "nope"])
    assert result.exit_code == 2
