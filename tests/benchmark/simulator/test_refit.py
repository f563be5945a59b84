"""``sage bench calibrate --from-run``: speeds re-fitted from a run's requests that had
their engine to themselves, on a hand-made timeline with known answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sage.benchmark.simulator.profiles import Calibration
from sage.benchmark.simulator.refit import refit
from sage.cli.main import app

COLUMNS = (
    "sent", "kind", "outcome", "e2e", "ttft", "itl", "input_tokens", "prompt_tokens",
    "n_inputs", "output_tokens",
)  # fmt: skip


def _run(cal: Calibration) -> dict[str, Any]:
    """LLM calls 1.5x slower to first token than ``cal`` says (2.5x while an embedding
    call runs) and decoding at 100 tok/s (80 while an embedding call runs); embedding
    calls 2x slower than ``cal`` (2.5x while a chat runs); plus a chat queued behind
    another, whose wait must be taken off its TTFT."""
    rows: list[dict[str, Any]] = []

    def chat(at: float, itl: float, ttft_scale: float = 1.5, wait: float = 0.0) -> None:
        ttft = wait + ttft_scale * cal.llm.ttft_s(60)
        gaps = [itl] * 20  # after the first token
        e2e = ttft + itl * 20
        rows.append(
            dict(sent=at, kind="llm", outcome="ok", e2e=e2e, ttft=ttft, itl=gaps,
                 input_tokens=60, prompt_tokens=31, n_inputs=1, output_tokens=21)
        )  # fmt: skip

    def embed(at: float, slowdown: float, n: int = 4) -> None:
        emb = cal.embedding
        e2e = emb.batch_wait_s + slowdown * emb.batch_s(n, 24 + emb.extra_tokens_per_input)
        rows.append(
            dict(sent=at, kind="embedding", outcome="ok", e2e=e2e, ttft=None, itl=[],
                 input_tokens=n * 26, prompt_tokens=24, n_inputs=n, output_tokens=0)
        )  # fmt: skip

    for i in range(10):  # alone
        chat(10.0 * i, 0.010)
        embed(10.0 * i + 5.0, 2.0)
    for i in range(10):  # a chat inside one (long) embedding call
        start = 200.0 + 10.0 * i
        chat(start, 0.0125, ttft_scale=2.5)
        embed(start + 0.01, 2.5, n=400)
    chat(400.0, 0.010)
    chat(400.01, 0.010, wait=rows[-1]["e2e"] - 0.01)  # queued until the first is done
    return {"requests": {c: [r[c] for r in rows] for c in COLUMNS}}


def test_refit_recovers_speeds_and_contention() -> None:
    base = Calibration.load()
    cal = refit(base, [_run(base)], ["hand-made"])
    assert cal.llm.decode_tokens_per_s == pytest.approx(100.0)
    assert cal.llm.ttft_s(60) == pytest.approx(1.5 * base.llm.ttft_s(60))
    width = 24 + base.embedding.extra_tokens_per_input
    assert cal.embedding.batch_s(4, width) == pytest.approx(2.0 * base.embedding.batch_s(4, width))
    assert cal.contention.llm_speed == pytest.approx(0.8)
    assert cal.contention.llm_prefill_speed == pytest.approx(0.6)
    assert cal.contention.embedding_speed == pytest.approx(0.8)
    assert cal.source["refit"]["samples"]["itl_quiet"] == 12 * 20
    assert cal.source["refit"]["samples"]["itl_busy"] == 10 * 20
    assert cal.source["refit"]["samples"]["ttft_quiet"] == 12  # the queued chat counts too


def test_too_few_samples_keep_the_base_figures() -> None:
    base = Calibration.load()
    run = _run(base)
    keep = 3  # three chats and three embedding calls, all alone
    run["requests"] = {c: v[: 2 * keep] for c, v in run["requests"].items()}
    cal = refit(base, [run], ["short"])
    assert cal.llm.ttft_overhead_s == base.llm.ttft_overhead_s
    assert cal.embedding == base.embedding
    assert cal.contention == base.contention
    assert cal.llm.decode_tokens_per_s == pytest.approx(100.0)  # 60 gaps are plenty


def test_calibrate_from_run_cli(tmp_path: Path) -> None:
    run = tmp_path / "run.json"
    run.write_text(json.dumps(_run(Calibration.load())))
    out = tmp_path / "cal.json"
    result = CliRunner().invoke(app, ["bench", "calibrate", "--from-run", str(run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert Calibration.load(out).llm.decode_tokens_per_s == pytest.approx(100.0)
    missing = CliRunner().invoke(
        app, ["bench", "calibrate", "--from-run", str(tmp_path / "none"), "-o", str(out)]
    )
    assert missing.exit_code == 2
    unknown = CliRunner().invoke(
        app, ["bench", "calibrate", "--from-run", str(run), "--tune", "llm", "-o", str(out)]
    )
    assert unknown.exit_code == 2
    assert "--tune: one of all, embedding, none" in unknown.output


def test_contention_is_tuned_by_replaying_the_run(tmp_path: Path) -> None:
    from sage.benchmark.simulator.profiles import Contention
    from sage.benchmark.simulator.refit import tune_contention
    from sage.benchmark.simulator.validate import validate_result

    from .test_validate_and_cli import write_run

    truth = Calibration.load().model_copy(update={"contention": Contention(llm_speed=0.7, embedding_speed=0.7)})
    path = tmp_path / "run.json"
    write_run(path, "siloed", truth)
    run = json.loads(path.read_text())
    wrong = truth.model_copy(update={"contention": Contention(llm_speed=1.2, embedding_speed=1.2)})
    assert not validate_result(run, wrong, 0.05).passed
    tuned = tune_contention(wrong, [run])
    assert tuned is not None
    assert validate_result(run, wrong.model_copy(update={"contention": tuned}), 0.05).passed


def test_decode_gaps_split_by_embedding_calls_in_flight() -> None:
    from sage.benchmark.simulator.records import decode_gaps

    req = {
        "kind": ["llm", "embedding", "embedding", "llm"],
        "outcome": ["ok", "ok", "ok", "error"],
        "sent": [0.0, 0.0, 0.5, 0.0],
        "e2e": [3.13, 1.0, 1.5, None],
        "ttft": [0.1, None, None, None],
        # tokens at 0.1, 1.1, 2.11, 3.13; the two calls cover 0-2.0 together
        "itl": [[1.0, 1.01, 1.02], [], [], [9.0]],
    }
    quiet, busy = decode_gaps(req)
    assert busy == [1.0, 1.01]
    assert quiet == [1.02]


def test_refit_chooses_the_contention_factors_by_replay(tmp_path: Path) -> None:
    from sage.benchmark.simulator.profiles import Contention

    from .test_validate_and_cli import write_run

    truth = Calibration.load().model_copy(
        update={"contention": Contention(llm_speed=0.9, llm_prefill_speed=0.8, embedding_speed=0.6)}
    )
    path = tmp_path / "run.json"
    write_run(path, "siloed", truth)
    run = json.loads(path.read_text())
    run["requests"]["e2e"] = [None] * len(run["requests"]["kind"])  # no per-call records
    start = truth.model_copy(
        update={"contention": Contention(llm_speed=0.9, llm_prefill_speed=0.8, embedding_speed=1.2)}
    )
    only_embedding = refit(start, [run], ["simulated"], tune=("embedding_speed",))
    assert only_embedding.contention.embedding_speed == pytest.approx(0.6)
    assert (only_embedding.contention.llm_speed, only_embedding.contention.llm_prefill_speed) == (
        0.9,
        0.8,
    )
    assert only_embedding.source["refit"]["contention_tuned"] == ["embedding_speed"]

    too_mild = truth.model_copy(
        update={"contention": Contention(llm_speed=1.0, llm_prefill_speed=0.8, embedding_speed=0.6)}
    )
    tuned = refit(too_mild, [run], ["simulated"])  # default: every factor
    assert tuned.contention.llm_speed == pytest.approx(0.9)
    untouched = refit(too_mild, [run], ["simulated"], tune=())
    assert untouched.contention == too_mild.contention
    assert untouched.source["refit"]["contention_tuned_on"] == 0
