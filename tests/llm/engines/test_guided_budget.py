"""Constrained decoding closes its output within the token budget, whatever the model
prefers: a stand-in "model" (fixed logits, argmax) that would loop forever inside a string
or on digits still ends with a complete, schema-valid call before ``max_tokens``. Uses
the default model's vocabulary only (no forward pass)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import numpy as np
import pytest

from sage.common.models import default_llm_path
from sage.llm.engines.guided import Guide
from sage.llm.engines.llama_tools import grammar_for, parse_tool_calls
from sage.llm.protocol import ChatCompletionRequest

SCHEMA = {
    "type": "object",
    "properties": {
        "function": {"type": "string"},
        "value": {"type": "number"},
        "unit": {"type": "string", "enum": ["m", "km"]},
    },
    "required": ["function", "value", "unit"],
}


@pytest.fixture(scope="module")
def llm() -> Any:
    from llama_cpp import Llama

    return Llama(str(default_llm_path()), vocab_only=True, verbose=False)


def _token(llm: Any, text: str) -> int:
    (token,) = llm.tokenize(text.encode(), add_bos=False, special=False)
    return int(token)


def _decode(llm: Any, budget: int, likes: dict[str, float]) -> tuple[str, list[int], Guide]:
    """Greedy decoding under the call grammar with logits that favour ``likes``."""
    body = ChatCompletionRequest.model_validate({
        "messages": [{"role": "user", "content": "x"}], "tool_choice": "required",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": SCHEMA}}]})  # fmt: skip
    grammar = grammar_for(body)
    assert grammar is not None
    guide = Guide(llm, grammar, budget)
    base = np.zeros(llm.n_vocab(), dtype=np.single)
    for text, score in likes.items():
        base[_token(llm, text)] = score
    tokens: list[int] = []
    while len(tokens) < budget:
        logits = base.copy()
        guide.mask(logits)
        token = int(np.argmax(logits))
        if token == llm.token_eos():
            break
        assert guide.consume(token)
        tokens.append(token)
    return llm.detokenize(tokens).decode(), tokens, guide


@pytest.mark.parametrize("likes", [
    {"a": 9.0, "9": 8.0},  # rambles inside the string, then on the number's digits
    {"9": 9.0, "a": 8.0},  # loops on digits
    {",": 9.0, "a": 8.0, "9": 7.0},  # the separator, wherever it fits
])  # fmt: skip
@pytest.mark.parametrize("budget", [60, 128, 300])
def test_a_looping_model_still_closes_a_valid_call_in_budget(
    llm: Any, likes: dict[str, float], budget: int
) -> None:
    text, tokens, guide = _decode(llm, budget, likes)
    assert len(tokens) <= budget and guide.done, text
    parsed = parse_tool_calls(text)
    assert parsed is not None and parsed[1], text  # a complete call list
    arguments = json.loads(parsed[0][0]["function"]["arguments"])
    jsonschema.validate(arguments, SCHEMA)
    assert guide.closing  # it got there by closing early


def test_a_call_that_fits_is_left_alone(llm: Any) -> None:
    text, _, guide = _decode(llm, 128, {'"': 9.0, "0": 8.0, "m": 7.0, "]": 6.0})
    assert not guide.closing and parse_tool_calls(text) is not None, text


def test_no_lone_space_before_a_string(llm: Any) -> None:
    """The model's own tokens for ': "' are '":' then ' "'; a lone ' ' then '"' is a
    split it never saw (a small model writes nonsense after it), so it is masked out
    where only a string can follow (a space inside a string stays a space)."""
    space = _token(llm, " ")
    _, tokens, _ = _decode(llm, 128, {" ": 9.0, '"': 8.0, "0": 7.0, "m": 6.0})
    pieces = [llm.detokenize([t]) for t in tokens]
    after_colon = [b for a, b in zip(tokens, tokens[1:], strict=False)
                   if pieces[tokens.index(a)].endswith(b":")]  # fmt: skip
    assert after_colon and space not in after_colon, pieces
