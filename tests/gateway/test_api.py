"""The gateway's OpenAI surface against a stub engine: happy paths, admin, metrics."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.gateway.conftest import StubGateway
from tests.gateway.stub_engine import vector


def test_chat_completion(stub_gateway: StubGateway) -> None:
    r = httpx.post(
        stub_gateway.url + "/v1/chat/completions",
        json={"model": "stub-llm", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "hello"


def test_default_model_and_completion(stub_gateway: StubGateway) -> None:
    r = httpx.post(stub_gateway.url + "/v1/completions", json={"model": "default", "prompt": "x"})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["text"] == "done"


def test_streaming_passes_chunks_through(stub_gateway: StubGateway) -> None:
    body = {"model": "stub-llm", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", stub_gateway.url + "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "t0 t1 t2 t3 t4 "
    assert chunks[-1]["usage"]["completion_tokens"] == 5


def test_embeddings_string_and_list(stub_gateway: StubGateway) -> None:
    one = httpx.post(
        stub_gateway.url + "/v1/embeddings", json={"model": "stub-embed", "input": "alpha"}
    )
    assert one.status_code == 200, one.text
    assert one.json()["data"][0]["embedding"] == vector("alpha")
    many = httpx.post(
        stub_gateway.url + "/v1/embeddings", json={"model": "stub-embed", "input": ["a", "b", "c"]}
    ).json()
    assert [d["index"] for d in many["data"]] == [0, 1, 2]
    assert [d["embedding"] for d in many["data"]] == [vector(t) for t in "abc"]


async def test_concurrent_embeddings_are_micro_batched(stub_gateway: StubGateway) -> None:
    stats_before = httpx.get(stub_gateway.engine_urls[0] + "/stats").json()
    texts = [f"sentence {i}" for i in range(40)]
    async with httpx.AsyncClient(base_url=stub_gateway.url, timeout=30) as client:
        replies = await asyncio.gather(
            *[
                client.post("/v1/embeddings", json={"model": "stub-embed", "input": t})
                for t in texts
            ]
        )
    for text, reply in zip(texts, replies, strict=True):
        assert reply.status_code == 200
        data = reply.json()["data"]
        assert len(data) == 1 and data[0]["index"] == 0
        assert data[0]["embedding"] == vector(text)  # split back to the right client
    stats = httpx.get(stub_gateway.engine_urls[0] + "/stats").json()
    calls = stats["embedding_calls"] - stats_before["embedding_calls"]
    assert calls < len(texts)
    assert max(stats["embedding_batches"]) > 1


def test_models_health_metrics(stub_gateway: StubGateway) -> None:
    models = httpx.get(stub_gateway.url + "/v1/models").json()
    assert {m["id"] for m in models["data"]} == {"stub-llm", "stub-embed"}
    health = httpx.get(stub_gateway.url + "/health").json()
    assert health["status"] == "ok" and health["engines"][0]["healthy"]
    httpx.post(stub_gateway.url + "/v1/embeddings", json={"input": "m"})
    text = httpx.get(stub_gateway.url + "/metrics").text
    for name in (
        "sage_gateway_queue_depth",
        "sage_gateway_latency_seconds_bucket",
        "sage_gateway_embedding_batch_requests",
        "sage_gateway_engine_healthy",
        'tenant="default"',
    ):
        assert name in text


def test_admin_policy_switch(stub_gateway: StubGateway) -> None:
    view = httpx.get(stub_gateway.url + "/admin/policy").json()
    assert "slo_aware" in view["available"]
    r = httpx.post(stub_gateway.url + "/admin/policy", json={"name": "fair"})
    assert r.status_code == 200 and r.json()["name"] == "fair"
    chat = httpx.post(
        stub_gateway.url + "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}]},
    )
    assert chat.status_code == 200
    bad = httpx.post(stub_gateway.url + "/admin/policy", json={"name": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "name"
    bad = httpx.post(
        stub_gateway.url + "/admin/policy", json={"name": "hybrid", "options": {"bogus": 1}}
    )
    assert bad.status_code == 400
    assert httpx.post(stub_gateway.url + "/admin/policy", json={"name": "hybrid"}).is_success


def test_admin_register_engine(stub_gateway: StubGateway) -> None:
    r = httpx.post(
        stub_gateway.url + "/admin/engines",
        json={"url": stub_gateway.engine_urls[0], "kind": "llm", "id": "extra"},
    )
    assert r.status_code == 201, r.text
    assert set(r.json()["models"]) == {"stub-llm", "stub-embed"}  # discovered
    listed = httpx.get(stub_gateway.url + "/admin/engines").json()["engines"]
    assert "extra" in {e["id"] for e in listed}
    assert httpx.delete(stub_gateway.url + "/admin/engines/extra").status_code == 200
    assert httpx.delete(stub_gateway.url + "/admin/engines/extra").status_code == 404


@pytest.mark.parametrize("path", ["/v1/nope", "/admin/nope"])
def test_unknown_path_is_openai_shaped(stub_gateway: StubGateway, path: str) -> None:
    r = httpx.get(stub_gateway.url + path)
    assert r.status_code == 404 and "message" in r.json()["error"]


def test_wrong_method_is_openai_shaped(stub_gateway: StubGateway) -> None:
    r = httpx.get(stub_gateway.url + "/v1/chat/completions")
    assert r.status_code == 405 and "message" in r.json()["error"]
