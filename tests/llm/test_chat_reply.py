"""``ChatReply``: a chat completion's first choice, tool calls parsed once."""

from __future__ import annotations

import pytest

from sage.llm.chat_reply import ChatReply, function_tool, json_schema_format


def test_tool_calls_and_json_content_are_parsed() -> None:
    reply = ChatReply.from_response({
        "choices": [{"finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function",
                 "function": {"name": "add", "arguments": '{"a": 1}'}},
                {"id": "c2", "type": "function",
                 "function": {"name": "bad", "arguments": "[1]"}}]}}],
        "usage": {"total_tokens": 7}})
    assert reply.content == "" and reply.finish_reason == "tool_calls"
    assert [c.name for c in reply.tool_calls] == ["add", "bad"]
    assert reply.tool_calls[0].args() == {"a": 1} and reply.usage == {"total_tokens": 7}
    with pytest.raises(ValueError, match="not a JSON object"):
        reply.tool_calls[1].args()
    text = ChatReply.from_response({"choices": [{"message": {"content": '{"x": 2}'}}]})
    assert text.tool_calls == [] and text.json() == {"x": 2}
    with pytest.raises(ValueError):
        ChatReply.from_response({"choices": [{"message": {"content": "prose"}}]}).json()


def test_request_builders_follow_the_openai_shapes() -> None:
    tool = function_tool("add", "Add two numbers")
    assert tool == {"type": "function", "function": {
        "name": "add", "description": "Add two numbers",
        "parameters": {"type": "object", "properties": {}}}}
    fmt = json_schema_format({"type": "object"}, name="out")
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
