"""Schema loader, generator determinism and the BFCL / MetaTool adapters."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from sage.benchmark.agent import datasets as ds
from sage.benchmark.agent.generator import CATALOG_FILE, DATA_DIR, ITEMS_FILE, write_dataset
from sage.benchmark.agent.schema import load_items

SHARED_BFCL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "bfcl"


def test_generator_reproduces_the_shipped_files(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    for name in (CATALOG_FILE, ITEMS_FILE):
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_shipped_set_has_the_promised_shape() -> None:
    data = ds.synthetic()
    assert not data.errors
    assert len(data.tools) >= 500
    # >= 1,000 labelled items counted by distinct instruction (selection rows repeat
    # each instruction at three pool sizes), and no instruction in two splits.
    splits_of: dict[str, set[str]] = {}
    for item in data.items:
        splits_of.setdefault(item.instruction, set()).add(item.split)
    assert len(splits_of) >= 1000
    assert all(len(s) == 1 for s in splits_of.values())
    sel = [i for i in data.items if i.task == "selection"]
    assert Counter(i.pool_size for i in sel) == {10: 300, 100: 300, 500: 300}
    for item in sel[:60]:
        assert len(item.candidates) == item.pool_size and item.gold_tools[0] in item.candidates
        gold_cat = data.tools[item.gold_tools[0]].category
        if item.pool_size == 10:  # hard distractors: all from the gold tool's category
            assert all(data.tools[c].category == gold_cat for c in item.candidates)
    for split in ("train", "dev", "test"):
        plans = [i for i in data.items if i.task == "planning" and i.split == split]
        assert {len(i.gold_tools) for i in plans} == set(range(1, 9)), split
        labels = Counter(i.should_call for i in data.items if i.task == "timing"
                         and i.split == split)
        assert labels[True] == labels[False] > 0, split
        assert any(i.task == "selection" and i.split == split for i in data.items), split


def test_malformed_items_are_reported_with_line_numbers(tmp_path: Path) -> None:
    good = {"id": "a", "task": "timing", "instruction": "hi", "should_call": False}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"id": "b", "task": "dance", "instruction": "x"}),
        "",
        json.dumps(
            {
                "id": "c",
                "task": "selection",
                "instruction": "x",
                "candidates": ["t1"],
                "gold_tools": ["t2"],
            }
        ),
        json.dumps({"id": "d", "task": "timing", "instruction": "x"}),
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(lines) + "\n")
    items, errors = load_items(path)
    assert [i.id for i in items] == ["a"]
    assert [e.line for e in errors] == [2, 3, 5, 6]
    assert "unknown task" in errors[1].message and "should_call" in errors[3].message
    assert str(errors[0]).startswith(f"{path}:2:")


def _bfcl_files(root: Path) -> None:
    fn = {
        "name": "calc.area",
        "description": "Area of a circle",
        "parameters": {"type": "dict", "properties": {"r": {"type": "float"}}},
    }
    other = {"name": "weather.get", "description": "Weather for a city", "parameters": {}}
    q = lambda text: [[{"role": "user", "content": text}]]  # noqa: E731
    (root / "possible_answer").mkdir(parents=True)
    files = {
        "BFCL_v4_multiple": [
            {"id": "multiple_0", "question": q("area of r=2"), "function": [fn, other]}
        ],
        "BFCL_v4_simple_python": [
            {"id": "simple_0", "question": q("weather in Rome"), "function": [other]}
        ],
        "BFCL_v4_irrelevance": [{"id": "irr_0", "question": q("tell me a poem"), "function": [fn]}],
        "BFCL_v4_parallel_multiple": [
            {"id": "pm_0", "question": q("both"), "function": [fn, other]}
        ],
    }
    answers = {
        "BFCL_v4_multiple": [{"id": "multiple_0", "ground_truth": [{"calc.area": {"r": [2]}}]}],
        "BFCL_v4_simple_python": [{"id": "simple_0", "ground_truth": [{"weather.get": {}}]}],
        "BFCL_v4_parallel_multiple": [
            {"id": "pm_0", "ground_truth": [{"weather.get": {}}, {"calc.area": {}}]}
        ],
    }
    for stem, rows in files.items():
        text = "\n".join(json.dumps(r) for r in rows) + "\n"
        if stem == "BFCL_v4_irrelevance":
            text += "{oops\n"
        (root / f"{stem}.json").write_text(text)
    for stem, rows in answers.items():
        (root / "possible_answer" / f"{stem}.json").write_text(
            "\n".join(json.dumps(r) for r in rows)
        )


def test_bfcl_adapter_on_a_small_file(tmp_path: Path) -> None:
    _bfcl_files(tmp_path)
    data = ds.bfcl(tmp_path, pool_sizes=(10,))
    by_id = {i.id: i for i in data.items}
    area, weather = sorted(data.tools)  # ids are name#hash of the definition
    assert area.startswith("calc.area#") and weather.startswith("weather.get#")
    assert by_id["bfcl-multiple_0"].gold_tools == [area]
    assert by_id["bfcl-multiple_0"].candidates == [area, weather]
    assert by_id["bfcl-simple_0-timing"].should_call is True
    assert by_id["bfcl-irr_0-timing"].should_call is False
    # every file gives timing items: multiple and parallel_multiple items are positives
    assert by_id["bfcl-multiple_0-timing"].should_call is True
    assert by_id["bfcl-pm_0"].gold_tools == [weather, area]
    assert by_id["bfcl-pm_0"].meta["order_free"] is True
    pooled = by_id["bfcl-simple_0-p10"]
    assert set(pooled.candidates) == {area, weather}  # every known function
    assert by_id["bfcl-irr_0-call"].gold_tools == [] and by_id["bfcl-simple_0-call"].meta["answer"]
    assert [(e.line, "invalid JSON" in e.message) for e in data.errors] == [(2, True)]


def test_bfcl_tools_are_keyed_per_definition_and_gold_is_never_guessed(tmp_path: Path) -> None:
    _bfcl_files(tmp_path)
    path = tmp_path / "BFCL_v4_simple_python.json"
    other_area = {"name": "calc.area", "description": "Area of a square", "parameters": {}}
    q = [[{"role": "user", "content": "area of a square"}]]
    path.write_text(
        path.read_text() + json.dumps({"id": "simple_1", "question": q, "function": [other_area]})
        + "\n" + json.dumps({"id": "simple_2", "question": q, "function": []}) + "\n"
    )
    irr = tmp_path / "BFCL_v4_irrelevance.json"  # an item offering nothing is still a "no"
    irr.write_text(json.dumps({"id": "irr_1", "question": q, "function": []}) + "\n")
    data = ds.bfcl(tmp_path, pool_sizes=(10,))
    areas = [t for t in data.tools.values() if t.name == "calc.area"]
    assert len(areas) == 2 and {t.description for t in areas} == {
        "Area of a circle", "Area of a square"}
    ids = {i.id for i in data.items}
    assert "bfcl-simple_1-p10" not in ids  # no possible answer: reported, not made up
    assert "bfcl-simple_1-timing" in ids  # its label does not need one
    assert "bfcl-irr_1-timing" in ids
    messages = [e.message for e in data.errors]
    assert "no possible answer for this id" in messages
    assert any("no 'function' list" in m for m in messages)  # simple_2 offers nothing


def test_bfcl_splits_are_fixed_and_disjoint() -> None:
    if not (SHARED_BFCL / "BFCL_v4_multiple.json").exists():
        pytest.skip(f"BFCL data not found at {SHARED_BFCL} (set up /work/shared/data/bfcl)")
    a, b = ds.bfcl(SHARED_BFCL, seed=0), ds.bfcl(SHARED_BFCL, seed=5)
    split_a = {i.id: i.split for i in a.items}
    assert split_a == {i.id: i.split for i in b.items}  # --seed moves pools, not splits
    counts = Counter(i.split for i in a.items if i.task == "timing")
    assert counts == {"train": 624, "dev": 208, "test": 208}
    for item in a.items:  # a question's pooled variants and timing item share a split
        base = item.id.rsplit("-", 1)[0] if item.id.count("-") > 1 else item.id
        assert split_a.get(f"{base}-timing", item.split) == item.split


def test_bfcl_shared_files_load_as_they_are() -> None:
    if not (SHARED_BFCL / "BFCL_v4_multiple.json").exists():
        pytest.skip(f"BFCL data not found at {SHARED_BFCL} (set up /work/shared/data/bfcl)")
    data = ds.bfcl(SHARED_BFCL)
    assert not data.errors
    counts = Counter((i.task, i.pool_size if i.meta.get("pooled") else None) for i in data.items)
    assert counts[("selection", None)] == 200 and counts[("planning", None)] == 200
    # positives from every file (400 + 200 + 200), negatives from irrelevance (240)
    assert counts[("timing", None)] == 1040 and counts[("selection", 500)] == 400
    assert counts[("calling", None)] == 1040
    assert len(data.tools) > 1000  # distinct definitions, not distinct names
    assert all(
        len(i.candidates) == 500 for i in data.items if i.pool_size == 500 and i.meta.get("pooled")
    )
    for item in data.items:
        if item.meta.get("pooled"):  # no distractor shares the gold's name
            gold_names = {data.tools[g].name for g in item.gold_tools}
            others = [c for c in item.candidates if c not in item.gold_tools]
            assert not gold_names & {data.tools[c].name for c in others}


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_metatool_adapter(tmp_path: Path, fmt: str) -> None:
    rows = [
        {"Query": "Book me a flight to Rome", "Label": "yes"},
        {"Query": "What is love?", "Label": "no"},
        {"Query": "", "Label": "yes"},
        {"Query": "Play jazz", "Label": "maybe"},
    ]
    path = tmp_path / f"awareness.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps([{k.lower(): v for k, v in r.items()} for r in rows]))
    elif fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows))
    else:
        path.write_text("Query,Label\n" + "\n".join(f"{r['Query']},{r['Label']}" for r in rows))
    data = ds.metatool(path)
    assert [(i.instruction, i.should_call) for i in data.items] == [
        ("Book me a flight to Rome", True),
        ("What is love?", False),
    ]
    first = 2 if fmt == "csv" else 1
    assert [e.line for e in data.errors] == [first + 2, first + 3]
