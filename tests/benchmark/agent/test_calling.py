"""``-t calling``: the BFCL AST scorer agrees with the shipped possible answers (gold
calls pass, perturbed ones fail the way BFCL's checker fails them) and the OpenAI
tool-call round trip (API-safe names, JSON arguments) loses nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sage.benchmark.agent import datasets as ds
from sage.benchmark.agent.ast_checker import check_item, gold_calls, standardize
from sage.benchmark.agent.calling import json_schema, openai_tools, run_calling

SHARED_BFCL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "bfcl"
FILES = ("BFCL_v4_simple_python", "BFCL_v4_multiple", "BFCL_v4_parallel_multiple")

AREA = {
    "name": "geometry.area_circle",
    "description": "Area of a circle",
    "parameters": {
        "type": "dict",
        "properties": {
            "radius": {"type": "float"},
            "units": {"type": "string"},
            "precision": {"type": "integer"},
        },
        "required": ["radius"],
    },
}
ANSWER = [{"geometry.area_circle": {"radius": [2.0], "units": ["cm", "centimeters"],
                                     "precision": ["", 2]}}]


def _check(calls: list[dict[str, Any]], category: str = "simple_python") -> str:
    verdict = check_item(category, [AREA], calls, ANSWER)
    return "ok" if verdict.valid else verdict.error


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"radius": 2.0, "units": "cm"}, "ok"),
        ({"radius": 2, "units": "cm"}, "ok"),  # an int passes for a float
        ({"radius": 2.0, "units": "Centi-meters"}, "ok"),  # BFCL string normalisation
        ({"radius": 2.0, "units": "cm", "precision": 2}, "ok"),
        ({"units": "cm"}, "simple_function_checker:missing_required"),
        ({"radius": 2.0, "units": "cm", "colour": "red"}, "simple_function_checker:unexpected_param"),
        ({"radius": "2", "units": "cm"}, "type_error"),
        ({"radius": 2.0, "units": "cm", "precision": 2.0}, "type_error"),  # float for int
        ({"radius": 3.0, "units": "cm"}, "value_error:others"),
        ({"radius": 2.0, "units": "inches"}, "value_error:string"),
        ({"radius": 2.0}, "simple_function_checker:missing_optional"),  # units not optional
    ],
)
def test_simple_call_semantics(args: dict[str, Any], expected: str) -> None:
    assert _check([{"geometry.area_circle": args}]) == expected


def test_counts_names_order_and_irrelevance() -> None:
    good = {"geometry.area_circle": {"radius": 2.0, "units": "cm"}}
    assert _check([{"area_circle": good["geometry.area_circle"]}]) == (
        "simple_function_checker:wrong_func_name"
    )
    assert _check([good, good], "multiple") == "wrong_count"
    assert _check([], "multiple") == "wrong_count"
    assert check_item("irrelevance", [AREA], [], []).valid
    assert check_item("irrelevance", [AREA], [good], []).error == "irrelevance:called"
    other = {"name": "f", "parameters": {"type": "dict", "properties": {"x": {"type": "integer"}}}}
    answers = [{"f": {"x": [1]}}, *ANSWER]
    swapped = [good, {"f": {"x": 1}}]  # parallel calls are order-free
    assert check_item("parallel_multiple", [AREA, other], swapped, answers).valid
    assert check_item("parallel_multiple", [AREA, other], swapped[:1], answers).error == "wrong_count"
    assert standardize("April 1, 2024") == standardize("april 1 2024")


def _shipped(stem: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    if not (SHARED_BFCL / f"{stem}.json").exists():
        pytest.skip(f"BFCL data not found at {SHARED_BFCL} (see ../shared/data/bfcl/README.md)")
    answers = {}
    for line in (SHARED_BFCL / "possible_answer" / f"{stem}.json").read_text().splitlines():
        row = json.loads(line)
        answers[row["id"]] = row["ground_truth"]
    rows = [json.loads(line) for line in (SHARED_BFCL / f"{stem}.json").read_text().splitlines()]
    return [(row, answers[row["id"]]) for row in rows]


@pytest.mark.parametrize("stem", FILES)
def test_gold_answers_score_100_percent(stem: str) -> None:
    items = _shipped(stem)
    failed = [
        (row["id"], check_item(stem, row["function"], gold_calls(ans, row["function"]), ans).error)
        for row, ans in items
        if not check_item(stem, row["function"], gold_calls(ans, row["function"]), ans).valid
    ]
    assert failed == []
    assert len(items) == (400 if stem == "BFCL_v4_simple_python" else 200)


def test_perturbed_gold_fails_as_expected() -> None:
    fails: dict[str, int] = {}
    items = _shipped("BFCL_v4_simple_python")
    for row, ans in items:
        fn = row["function"][0]
        gold = gold_calls(ans, row["function"])
        name, args = next(iter(gold[0].items()))
        cases = {"renamed": [{name + "_x": args}], "extra_param": [{name: {**args, "zz": 1}}]}
        required = fn["parameters"].get("required") or []
        if required:
            cases["dropped_required"] = [{name: {k: v for k, v in args.items() if k != required[0]}}]
        strings = [k for k, v in args.items() if isinstance(v, str)]
        if strings:
            bad = copy.deepcopy(args)
            bad[strings[0]] = "zzz-not-an-answer"
            cases["wrong_string"] = [{name: bad}]
        for case, calls in cases.items():
            verdict = check_item("simple_python", row["function"], calls, ans)
            assert not verdict.valid, (row["id"], case)
            fails[f"{case}:{verdict.error}"] = fails.get(f"{case}:{verdict.error}", 0) + 1
    assert fails["renamed:simple_function_checker:wrong_func_name"] == len(items)
    assert fails["extra_param:simple_function_checker:unexpected_param"] == len(items)
    assert set(k for k in fails if k.startswith("dropped_required")) == {
        "dropped_required:simple_function_checker:missing_required"}
    assert set(k for k in fails if k.startswith("wrong_string")) <= {
        "wrong_string:value_error:string", "wrong_string:value_error:others"}


def test_openai_round_trip_through_run_calling() -> None:
    if not (SHARED_BFCL / "BFCL_v4_multiple.json").exists():
        pytest.skip(f"BFCL data not found at {SHARED_BFCL} (see ../shared/data/bfcl/README.md)")
    data = ds.bfcl(SHARED_BFCL)
    items = [i for i in data.items if i.task == "calling"][::40]
    by_question = {i.instruction: i for i in items}

    def perfect(question: str, tools: list[dict[str, Any]]) -> tuple[list[Any], int]:
        item = by_question[question]
        names = {v: k for k, v in openai_tools(item.meta["functions"])[1].items()}
        calls = gold_calls(item.meta["answer"], item.meta["functions"])
        return [
            {"function": {"name": names[n], "arguments": json.dumps(a)}}
            for call in calls for n, a in call.items()
        ], 0

    results = run_calling("bfcl", "perfect", items, perfect)
    assert {r.group for r in results} == {*FILES, "BFCL_v4_irrelevance"}
    assert all(r.scores["ast_accuracy"] == 1.0 for r in results), [
        (r.item_id, r.fallback_reason) for r in results if not r.scores["ast_accuracy"]]
    tools, _ = openai_tools([AREA])
    assert tools[0]["function"]["name"] == "geometry_area_circle"
    assert tools[0]["function"]["parameters"]["type"] == "object"
    assert json_schema({"type": "float"}) == {"type": "number"}
