"""The llama engine's per-request time budget (security.limits.request_timeout_s): a
request that would decode for minutes stops at the budget, streamed or not, and the
slot is free for the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from sage.common.models import DEFAULT_LLM_NAME, default_llm_path
from sage.common.security import InputLimits
from sage.llm.engines import llama
from sage.llm.protocol import ChatCompletionRequest
from tests.fixtures.engines import wait_until

LONG = {
    "model": DEFAULT_LLM_NAME,
    "messages": [{"role": "user", "content": "Count from one to a million."}],
    "max_tokens": 1500,
    "ignore_eos": True,  # decodes every token unless the budget stops it
}


@pytest.fixture(scope="module")
def engine() -> Iterator[llama.LlamaEngine]:
    engine = llama.LlamaEngine(str(default_llm_path()), DEFAULT_LLM_NAME, n_ctx=2048)
    yield engine
    engine.close()


@pytest.fixture
def short_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llama, "default_limits", lambda: InputLimits(request_timeout_s=0.5))


async def test_a_non_streamed_call_stops_at_the_budget(
    engine: llama.LlamaEngine, short_budget: None
) -> None:
    engine.bind_loop()
    reply = await asyncio.wait_for(engine.run(True, ChatCompletionRequest(**LONG)), 120)
    assert reply["usage"]["completion_tokens"] < LONG["max_tokens"]
    assert reply["choices"][0]["finish_reason"] == "length"
    assert engine.stats()["free_slots"] == engine.stats()["slots"]


async def test_a_stream_stops_at_the_budget(engine: llama.LlamaEngine, short_budget: None) -> None:
    engine.bind_loop()
    body = ChatCompletionRequest(**LONG, stream=True)

    async def drain() -> list[dict]:
        return [chunk async for chunk in engine.stream(True, body)]

    chunks = await asyncio.wait_for(drain(), 120)
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices")]
    assert finish[-1] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] < LONG["max_tokens"]
    # The decoding thread hands the slot back just after its last chunk.
    await asyncio.to_thread(
        wait_until, lambda: engine.stats()["free_slots"] == engine.stats()["slots"], "the slot"
    )
