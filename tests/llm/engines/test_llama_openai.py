"""The llama.cpp engine's OpenAI surface beyond plain text: tools, JSON output,
logprobs, ``n``, usage, ``ignore_eos``, prompt lists, and 400s for what it cannot do.
Real SmolLM2 (the session's engine), small budgets."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest

from tests.fixtures.engines import RealEngines
from tests.fixtures.openai_tools import ASK, WEATHER
from tests.llm.engines.test_llm_engine import sse_events

TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a timezone",
        "parameters": {
            "type": "object",
            "properties": {"timezone": {"type": "string"}},
            "required": ["timezone"],
        },
    },
}
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def llm_url(real_engines: RealEngines) -> str:
    return real_engines.llm.url


def chat(url: str, **body: Any) -> dict[str, Any]:
    body.setdefault("temperature", 0)
    r = httpx.post(url + "/v1/chat/completions", json=body, timeout=120)
    assert r.status_code == 200, r.text
    return dict(r.json())


def assert_valid_call(call: dict[str, Any], tools: list[dict[str, Any]]) -> dict[str, Any]:
    assert call["id"] and call["type"] == "function"
    by_name = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    assert call["function"]["name"] in by_name
    arguments = json.loads(call["function"]["arguments"])
    jsonschema.validate(arguments, by_name[call["function"]["name"]])
    return dict(arguments)


def test_required_tool_choice_gives_a_valid_call(llm_url: str) -> None:
    out = chat(llm_url, messages=ASK, tools=[WEATHER, TIME], tool_choice="required",
               max_tokens=64)  # fmt: skip
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert calls
    for call in calls:
        assert_valid_call(call, [WEATHER, TIME])


def test_named_tool_choice_calls_that_tool_once(llm_url: str) -> None:
    named = {"type": "function", "function": {"name": "get_time"}}
    out = chat(llm_url, messages=ASK, tools=[WEATHER, TIME], tool_choice=named, max_tokens=64)
    calls = out["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_time"]
    assert_valid_call(calls[0], [TIME])


def test_auto_gives_text_or_a_valid_call_and_none_gives_text(llm_url: str) -> None:
    auto = chat(llm_url, messages=[{"role": "user", "content": "Say hello."}], tools=[WEATHER],
                max_tokens=24)["choices"][0]  # fmt: skip
    if auto["message"].get("tool_calls"):
        assert_valid_call(auto["message"]["tool_calls"][0], [WEATHER])
    else:
        assert auto["message"]["content"] and auto["finish_reason"] in {"stop", "length"}
    none = chat(llm_url, messages=ASK, tools=[WEATHER], tool_choice="none", max_tokens=16)
    assert none["choices"][0]["message"]["content"]
    assert not none["choices"][0]["message"].get("tool_calls")


def test_tool_results_in_history_are_accepted(llm_url: str) -> None:
    call = {"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}  # fmt: skip
    messages = [*ASK, {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"}]  # fmt: skip
    out = chat(llm_url, messages=messages, tools=[WEATHER], tool_choice="none", max_tokens=16)
    assert out["choices"][0]["message"]["content"]


def test_streamed_tool_calls(llm_url: str) -> None:
    body = {"messages": ASK, "tools": [WEATHER], "tool_choice": "required", "stream": True,
            "max_tokens": 64, "temperature": 0}  # fmt: skip
    with httpx.stream("POST", llm_url + "/v1/chat/completions", json=body, timeout=120) as r:
        events = sse_events(r)
    assert events[-1] == "[DONE]"
    deltas = [c["choices"][0]["delta"] for c in events[:-1] if c["choices"]]
    calls = [tc for d in deltas for tc in d.get("tool_calls", [])]
    assert calls and calls[0]["index"] == 0 and calls[0]["id"]
    assert_valid_call(calls[0], [WEATHER])
    finishes = [c["choices"][0]["finish_reason"] for c in events[:-1] if c["choices"]]
    assert finishes[-1] == "tool_calls"
    assert events[-2]["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("strict", [True, False])
def test_json_schema_output_validates(llm_url: str, strict: bool) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "strict": strict,
                                                  "schema": PERSON}}  # fmt: skip
    out = chat(llm_url, messages=[{"role": "user", "content": "Describe Ada Lovelace."}],
               response_format=fmt, max_tokens=64)  # fmt: skip
    jsonschema.validate(json.loads(out["choices"][0]["message"]["content"]), PERSON)


def test_json_object_output_parses(llm_url: str) -> None:
    out = chat(llm_url, messages=[{"role": "user", "content": "Give a JSON with a key 'a'."}],
               response_format={"type": "json_object"}, max_tokens=48)  # fmt: skip
    assert isinstance(json.loads(out["choices"][0]["message"]["content"]), dict)


def test_logprobs_and_n(llm_url: str) -> None:
    out = chat(llm_url, messages=ASK, max_tokens=4, logprobs=True, top_logprobs=3, n=2,
               temperature=1.0, seed=7)  # fmt: skip
    assert [c["index"] for c in out["choices"]] == [0, 1]
    total = 0
    for choice in out["choices"]:
        content = choice["logprobs"]["content"]
        total += len(content)
        for entry in content:
            assert entry["logprob"] <= 0 and len(entry["top_logprobs"]) == 3
            tops = [t["logprob"] for t in entry["top_logprobs"]]
            assert tops == sorted(tops, reverse=True) and entry["logprob"] <= tops[0] + 1e-6
    assert out["usage"]["completion_tokens"] == total


def test_streamed_usage_counts_tokens_not_chunks(llm_url: str) -> None:
    messages = [{"role": "user", "content": "Reply with three emoji: 🎉🚀🌍"}]
    plain = chat(llm_url, messages=messages, max_tokens=12)["usage"]
    body = {"messages": messages, "max_tokens": 12, "temperature": 0, "stream": True}
    with httpx.stream("POST", llm_url + "/v1/chat/completions", json=body, timeout=120) as r:
        events = sse_events(r)
    streamed = events[-2]["usage"]
    streamed.pop("prompt_tokens_details"), plain.pop("prompt_tokens_details")  # cached: 2nd call
    assert streamed == plain
    body["stream_options"] = {"include_usage": False}
    with httpx.stream("POST", llm_url + "/v1/chat/completions", json=body, timeout=120) as r:
        events = sse_events(r)
    assert all("usage" not in e for e in events[:-1])


def test_ignore_eos_stop_and_seed(llm_url: str) -> None:
    def complete(**body: Any) -> dict[str, Any]:
        r = httpx.post(llm_url + "/v1/completions", json={"prompt": "Hi.", **body}, timeout=120)
        assert r.status_code == 200, r.text
        return dict(r.json())

    long = complete(max_tokens=40, ignore_eos=True, temperature=0)
    assert long["usage"]["completion_tokens"] == 40
    assert long["choices"][0]["finish_reason"] == "length"
    stopped = complete(max_tokens=40, stop=[" "], temperature=0)["choices"][0]
    assert " " not in stopped["text"].strip() and stopped["finish_reason"] == "stop"
    seeded = [complete(max_tokens=8, temperature=1.0, seed=3)["choices"][0]["text"]
              for _ in range(2)]  # fmt: skip
    assert seeded[0] == seeded[1]


def test_prompt_lists_and_token_ids(llm_url: str) -> None:
    body = {"prompt": ["The sky is", "One, two,"], "n": 2, "max_tokens": 3, "temperature": 0}
    out = httpx.post(llm_url + "/v1/completions", json=body, timeout=120).json()
    assert [c["index"] for c in out["choices"]] == [0, 1, 2, 3]
    assert 0 < out["usage"]["completion_tokens"] <= 4 * 3
    ids = {"prompt": [504, 3470, 314], "max_tokens": 2, "temperature": 0, "logprobs": 1}
    out = httpx.post(llm_url + "/v1/completions", json=ids, timeout=120).json()
    assert out["usage"]["prompt_tokens"] == 3
    assert len(out["choices"][0]["logprobs"]["tokens"]) == out["usage"]["completion_tokens"]


def test_model_card_has_max_model_len(llm_url: str, real_engines: RealEngines) -> None:
    card = httpx.get(f"{llm_url}/v1/models/{real_engines.llm.model}").json()
    assert card["id"] == real_engines.llm.model and card["max_model_len"] > 0
    assert httpx.get(f"{llm_url}/v1/models/nope").status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/chat/completions",
         {"messages": [{"role": "user", "content": [
             {"type": "text", "text": "what is this?"},
             {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]},
         "messages.0.content.1"),
        ("/v1/chat/completions", {"messages": ASK, "response_format": {"type": "xml"}},
         "response_format"),
        ("/v1/chat/completions", {"messages": ASK, "functions": [{"name": "f"}]}, "functions"),
        ("/v1/chat/completions",
         {"messages": ASK, "tools": [WEATHER],
          "tool_choice": {"type": "function", "function": {"name": "other"}}}, None),
        ("/v1/chat/completions", {"messages": ASK, "top_logprobs": 2}, None),
        ("/v1/completions", {"prompt": "a", "best_of": 2}, "best_of"),
        ("/v1/completions", {"prompt": "a", "suffix": "b"}, "suffix"),
        ("/v1/completions", {"prompt": [10**9], "max_tokens": 1}, "prompt"),
    ],
)  # fmt: skip
def test_what_it_cannot_honour_is_a_400(
    llm_url: str, path: str, body: dict[str, Any], param: str | None
) -> None:
    r = httpx.post(llm_url + path, json=body, timeout=60)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    if param:
        assert error["param"] == param
