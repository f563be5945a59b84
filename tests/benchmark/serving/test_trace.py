"""Trace replay: JSONL and CSV, and malformed lines reported with their line number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sage.benchmark.serving.trace import TraceError, load_trace
from sage.benchmark.serving.workload import KIND_EMBEDDING, KIND_LLM


def test_jsonl_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        "# a comment\n"
        '{"timestamp": 100.5, "kind": "embedding", "tenant": "b", "prompt_tokens": 16, "n_inputs": 4}\n'
        "\n"
        '{"timestamp": 100.0, "kind": "chat", "tenant": "a", "prompt_tokens": 30, "output_tokens": 8}\n'
        '{"timestamp": 102.0, "kind": "completion", "prompt_tokens": 5, "output_tokens": 3}\n'
    )
    w = load_trace(path)
    assert np.allclose(w.t, [0.0, 0.5, 2.0])  # sorted, starting at 0
    assert w.kind.tolist() == [KIND_LLM, KIND_EMBEDDING, KIND_LLM]
    assert [w.tenants[i] for i in w.tenant] == ["a", "b", "default"]
    assert w.output_tokens.tolist() == [8, 0, 3]
    assert w.n_inputs.tolist() == [1, 4, 1]
    assert load_trace(path, time_scale=0.5).t[-1] == pytest.approx(1.0)


def test_csv_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "timestamp,kind,tenant,prompt_tokens,output_tokens,n_inputs\n"
        "0,chat,a,12,4,\n"
        "0.25,embedding,b,20,,2\n"
    )
    w = load_trace(path)
    assert len(w) == 2
    assert w.prompt_tokens.tolist() == [12, 20]
    assert w.n_inputs.tolist() == [1, 2]


@pytest.mark.parametrize(
    ("lines", "line_no", "message"),
    [
        (['{"timestamp": 0, "kind": "chat", "prompt_tokens": 3}', "{not json"], 2, "JSON"),
        (['{"timestamp": 0, "kind": "chat", "prompt_tokens": 3}', '{"kind": "chat"}'], 2,
         "timestamp"),
        (["", '{"timestamp": 0, "kind": "video", "prompt_tokens": 3}'], 2, "kind"),
        (['{"timestamp": -1, "kind": "chat", "prompt_tokens": 3}'], 1, "timestamp"),
        (["[1, 2]"], 1, "object"),
    ],
)  # fmt: skip
def test_malformed_jsonl_names_the_line(
    tmp_path: Path, lines: list[str], line_no: int, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceError, match=rf"bad\.jsonl:{line_no}: .*{message}"):
        load_trace(path)


def test_malformed_csv_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,kind,prompt_tokens\n0,chat,5\n1,chat,many\n")
    with pytest.raises(TraceError, match=r"bad\.csv:3: prompt_tokens"):
        load_trace(path)


def test_missing_or_empty_trace(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no such trace"):
        load_trace(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(TraceError, match="no requests"):
        load_trace(tmp_path / "empty.jsonl")
