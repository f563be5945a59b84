"""Tool grammars without a model: every BFCL tool set compiles (Python-ish schema types
included), and replies parse into OpenAI ``tool_calls``."""

from __future__ import annotations

import json

from sage.benchmark.agent.bfcl import default_bfcl_dir
from sage.llm.engines.llama_tools import grammar_for, normalize_schema, parse_tool_calls
from sage.llm.protocol import ChatCompletionRequest


def test_every_bfcl_tool_set_compiles_to_a_grammar() -> None:
    folder = default_bfcl_dir()
    files = ["BFCL_v4_simple_python.json", "BFCL_v4_multiple.json",
             "BFCL_v4_parallel_multiple.json"]  # fmt: skip
    count = 0
    for name in files:
        for line in (folder / name).open():
            item = json.loads(line)
            tools = [{"type": "function", "function": {**f, "name": f["name"].replace(".", "_")}}
                     for f in item["function"]]  # fmt: skip
            body = ChatCompletionRequest.model_validate(
                {"messages": [{"role": "user", "content": "x"}], "tools": tools,
                 "tool_choice": "required"}  # fmt: skip
            )
            assert grammar_for(body), item["id"]
            count += 1
    assert count == 800


def test_python_type_names_become_json_schema() -> None:
    schema = {"type": "dict", "properties": {"x": {"type": "float"}, "y": {"type": "any"},
                                             "z": {"type": "tuple", "items": {"type": "int"}}}}  # fmt: skip
    out = normalize_schema(schema)
    assert out["type"] == "object" and out["properties"]["x"]["type"] == "number"
    assert "null" in out["properties"]["y"]["type"]
    assert out["properties"]["z"] == {"type": "array", "items": {"type": "integer"}}


def test_replies_parse_into_tool_calls() -> None:
    parsed = parse_tool_calls('<tool_call>[{"name": "f", "arguments": {"a": 1}}]</tool_call>')
    assert parsed is not None
    calls, closed = parsed
    assert closed and calls[0]["function"] == {"name": "f", "arguments": '{"a": 1}'}
    assert calls[0]["id"].startswith("call_")
    assert parse_tool_calls("plain text") is None
    assert parse_tool_calls('<tool_call>[{"name": "f", "argu') is None  # cut at max_tokens
    cut = parse_tool_calls('<tool_call>[{"name": "f", "arguments": {}}, {"name": "f", "ar')
    assert cut is not None and len(cut[0]) == 1 and not cut[1]  # the finished call kept
