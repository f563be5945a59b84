"""An external engine gets the client's body as sent: tools, response_format, logprobs and
vendor fields pass the gateway unchanged (only an alias in ``model`` is resolved)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sage.gateway.app import create_app
from sage.gateway.server import GatewayThread
from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.engines.spec import EngineSpec
from tests.fixtures.openai_tools import ASK, WEATHER

MODEL = "ext-model"


def recording_engine(seen: list[dict[str, Any]]) -> FastAPI:
    """An OpenAI server that records each body and answers a fixed reply."""
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL, "object": "model"}]}

    @app.get("/v1/models/{model_id}")
    async def model(model_id: str) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "max_model_len": 32768}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        seen.append(json.loads(await request.body()))
        return JSONResponse({"id": "x", "object": "chat.completion", "model": MODEL, "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"},
             "finish_reason": "stop"}]})  # fmt: skip

    return app


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    engine = GatewayThread(recording_engine(seen)).start()
    cp = ControlPlane("fifo")
    cp.add_engine_spec(EngineSpec(kind="llm", backend="external", url=engine.url, model=MODEL))
    gateway = GatewayThread(create_app(cp)).start()
    try:
        yield gateway.url, seen
    finally:
        gateway.stop()
        engine.stop()


def test_fields_reach_an_external_engine_unchanged(stack: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = stack
    body = {
        "model": MODEL, "messages": ASK, "tools": [WEATHER], "tool_choice": "required",
        "parallel_tool_calls": False, "logprobs": True, "top_logprobs": 2, "n": 3, "seed": 1,
        "response_format": {"type": "json_schema",
                            "json_schema": {"name": "p", "schema": {"type": "object"}}},
        "stream_options": {"include_usage": False}, "ignore_eos": True,
        "guided_choice": ["a", "b"],  # a vLLM extension SAGE does not know
        "messages_extra": {"vendor": 1},
    }  # fmt: skip
    r = httpx.post(url + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 200, r.text
    assert seen[-1] == body


def test_model_card_comes_from_the_engine(stack: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = stack
    card = httpx.get(f"{url}/v1/models/{MODEL}", timeout=30).json()
    assert card["id"] == MODEL and card["max_model_len"] == 32768
