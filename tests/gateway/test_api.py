"""The gateway's OpenAI surface over the real engines: happy paths, batching, admin,
metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from sage.llm.engines.spec import EngineInfo
from tests.fixtures.admin import ADMIN
from tests.fixtures.gateway import Gateway

MSG = [{"role": "user", "content": "Say hello."}]


def llm_model(gw: Gateway) -> str:
    return next(e.model for e in gw.engines if e.kind == "llm")


def embedding_engine(gw: Gateway) -> EngineInfo:
    return next(e for e in gw.engines if e.kind == "embedding")


def test_chat_completion(real_gateway: Gateway) -> None:
    body = {"model": llm_model(real_gateway), "messages": MSG, "max_tokens": 4, "temperature": 0}
    r = httpx.post(real_gateway.url + "/v1/chat/completions", json=body, timeout=60)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["object"] == "chat.completion" and reply["model"] == llm_model(real_gateway)
    assert reply["choices"][0]["message"]["content"]
    assert reply["usage"]["completion_tokens"] > 0
    llm_ids = {e.id for e in real_gateway.engines if e.kind == "llm"}
    assert r.headers["x-sage-engine"] in llm_ids  # which engine served it


def test_default_model_and_completion(real_gateway: Gateway) -> None:
    r = httpx.post(
        real_gateway.url + "/v1/completions",
        json={"model": "default", "prompt": "The sky is", "max_tokens": 2, "temperature": 0},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "text_completion"
    assert r.json()["model"] == llm_model(real_gateway)  # "default" named the served model
    assert r.json()["usage"]["completion_tokens"] == 2


def test_streaming_is_relayed_with_usage_last(real_gateway: Gateway) -> None:
    body = {"messages": MSG, "stream": True, "max_tokens": 6, "temperature": 0}
    with httpx.stream(
        "POST", real_gateway.url + "/v1/chat/completions", json=body, timeout=60
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-sage-engine"]
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    *chunks, last = [json.loads(line[6:]) for line in lines[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks).strip()
    assert last["choices"] == [] and last["usage"]["completion_tokens"] > 0
    assert all("usage" not in c for c in chunks)


def test_embeddings_string_and_list(real_gateway: Gateway) -> None:
    engine = embedding_engine(real_gateway)
    direct = httpx.post(engine.url + "/v1/embeddings", json={"input": "alpha"}).json()
    url = real_gateway.url + "/v1/embeddings"
    one = httpx.post(url, json={"model": engine.model, "input": "alpha"})
    assert one.status_code == 200, one.text
    assert one.json()["model"] == engine.model
    vector = one.json()["data"][0]["embedding"]
    assert vector == pytest.approx(direct["data"][0]["embedding"], abs=1e-5)
    many = httpx.post(url, json={"input": ["alpha", "b", "c"]}).json()
    assert [d["index"] for d in many["data"]] == [0, 1, 2]
    assert many["data"][0]["embedding"] == pytest.approx(vector, abs=1e-5)


@pytest.fixture
def wide_batching(real_gateway: Gateway) -> Iterator[None]:
    """Hybrid with a 250 ms flush window for the test (so batching does not depend on
    how fast the clients' requests arrive), then the default again."""
    change = {"name": "hybrid", "options": {"batch_size": 64, "max_wait_s": 0.25}}
    httpx.post(real_gateway.url + "/admin/policy", json=change, headers=ADMIN).raise_for_status()
    yield
    reset = {"name": "hybrid", "reset": True}
    httpx.post(real_gateway.url + "/admin/policy", json=reset, headers=ADMIN).raise_for_status()


def batch_counts(url: str) -> tuple[float, float]:
    """(embedding dispatches, of which single-request ones) from ``/metrics``."""
    total = single = 0.0
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith("sage_gateway_embedding_batch_requests_count"):
            total = float(line.split()[-1])
        elif line.startswith('sage_gateway_embedding_batch_requests_bucket{le="1.0"}'):
            single = float(line.split()[-1])
    return total, single


async def test_concurrent_embeddings_are_micro_batched(
    real_gateway: Gateway, wide_batching: None
) -> None:
    """Forty clients sending one sentence each share a few engine calls, and each gets
    its own vector back."""
    engine = embedding_engine(real_gateway)
    texts = [f"sentence number {i} about retrieval" for i in range(40)]
    before = batch_counts(real_gateway.url)
    async with httpx.AsyncClient(timeout=60) as client:
        replies = await asyncio.gather(
            *[client.post(real_gateway.url + "/v1/embeddings", json={"input": t}) for t in texts]
        )
        direct = (await client.post(engine.url + "/v1/embeddings", json={"input": texts})).json()
    for reply, expected in zip(replies, direct["data"], strict=True):
        assert reply.status_code == 200, reply.text
        data = reply.json()["data"]
        assert len(data) == 1 and data[0]["index"] == 0
        assert data[0]["embedding"] == pytest.approx(expected["embedding"], abs=1e-4)
    total, single = (a - b for a, b in zip(batch_counts(real_gateway.url), before, strict=True))
    assert total < len(texts) and total > single  # merged: fewer calls, some with several


async def test_batched_requests_with_different_options_are_not_mixed(
    real_gateway: Gateway, wide_batching: None
) -> None:
    """A base64 request batched with float ones still gets base64 (the openai client asks
    for base64 by default), and vice versa."""
    async with httpx.AsyncClient(base_url=real_gateway.url, timeout=60) as client:
        replies = await asyncio.gather(
            *[
                client.post("/v1/embeddings", json={"input": f"s{i}", "encoding_format": fmt})
                for i in range(8)
                for fmt in ("float", "base64")
            ]
        )
    formats = [
        "base64" if isinstance(r.json()["data"][0]["embedding"], str) else "float"
        for r in replies
    ]
    assert formats == ["float", "base64"] * 8


def test_models_health_metrics(real_gateway: Gateway) -> None:
    models = httpx.get(real_gateway.url + "/v1/models").json()
    assert models["object"] == "list"
    assert {m["id"] for m in models["data"]} == {e.model for e in real_gateway.engines}
    health = httpx.get(real_gateway.url + "/health").json()
    assert health["status"] == "ok" and all(e["healthy"] for e in health["engines"])
    assert health["queue_depth"] == 0 and health["policy"] == "hybrid"
    httpx.post(real_gateway.url + "/v1/embeddings", json={"input": "m"})
    body = {"messages": MSG, "stream": True, "max_tokens": 2}
    with httpx.stream(
        "POST", real_gateway.url + "/v1/chat/completions", json=body, timeout=60
    ) as r:
        r.read()
    text = httpx.get(real_gateway.url + "/metrics").text
    for name in (
        "sage_gateway_queue_depth",
        'sage_gateway_latency_seconds_bucket{kind="embedding"',
        'sage_gateway_ttft_seconds_bucket{kind="chat"',
        "sage_gateway_requests_total",
        "sage_gateway_embedding_batch_requests",
        "sage_gateway_embedding_batch_inputs",
        "sage_gateway_engine_healthy",
        'policy="hybrid"',
        'tenant="default"',
    ):
        assert name in text, name


def test_tenant_header_labels_metrics_when_keys_are_off(real_gateway: Gateway) -> None:
    r = httpx.post(
        real_gateway.url + "/v1/embeddings",
        json={"input": "t"},
        headers={"X-SAGE-Tenant": "team-z", "X-SAGE-Priority": "3", "X-SAGE-SLO-Ms": "60000"},
    )
    assert r.status_code == 200
    assert 'tenant="team-z"' in httpx.get(real_gateway.url + "/metrics").text


def test_admin_policy_switch(real_gateway: Gateway) -> None:
    url = real_gateway.url
    view = httpx.get(url + "/admin/policy", headers=ADMIN).json()
    policies = {"fifo", "round_robin", "least_loaded", "priority", "slo_aware", "hybrid"}
    assert policies <= set(view["available"])
    try:
        for name in sorted(policies):
            r = httpx.post(url + "/admin/policy", json={"name": name}, headers=ADMIN)
            assert r.status_code == 200 and r.json()["name"] == name
            assert httpx.get(url + "/admin/policy", headers=ADMIN).json()["name"] == name
            assert httpx.post(url + "/v1/embeddings", json={"input": name}).status_code == 200
        bad = httpx.post(url + "/admin/policy", json={"name": "nope"}, headers=ADMIN)
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "name"
        bad = httpx.post(url + "/admin/policy", json={"name": "hybrid", "options": {"bogus": 1}}, headers=ADMIN)
        assert bad.status_code == 400
        r = httpx.post(
            url + "/admin/policy",
            json={"name": "hybrid", "options": {"batch_size": 16, "fair_share": True}},
            headers=ADMIN,
        )
        assert r.is_success and r.json()["batch_size"] == 16 and r.json()["fair_share"]
        # Options are remembered per policy: one more option, or a round trip, keeps them.
        httpx.post(url + "/admin/policy", json={"name": "fifo"}, headers=ADMIN).raise_for_status()
        r = httpx.post(url + "/admin/policy", json={"name": "hybrid", "options": {"max_wait_s": 0.05}}, headers=ADMIN)
        view = r.json()
        assert (view["batch_size"], view["fair_share"], view["max_wait_s"]) == (16, True, 0.05)
        r = httpx.post(url + "/admin/policy", json={"name": "hybrid", "reset": True}, headers=ADMIN)
        assert (r.json()["batch_size"], r.json()["fair_share"]) == (64, False)  # the defaults
    finally:
        reset = {"name": "hybrid", "reset": True}
        httpx.post(url + "/admin/policy", json=reset, headers=ADMIN).raise_for_status()


def test_admin_register_engine(real_gateway: Gateway) -> None:
    engine = embedding_engine(real_gateway)
    r = httpx.post(
        real_gateway.url + "/admin/engines",
        json={"url": engine.url + "/v1", "kind": "embedding", "id": "extra", "capacity": 2},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    assert r.json()["models"] == [engine.model]  # discovered from its /v1/models
    assert (r.json()["url"], r.json()["capacity"]) == (engine.url, 2)
    listed = httpx.get(real_gateway.url + "/admin/engines", headers=ADMIN).json()["engines"]
    assert "extra" in {e["id"] for e in listed}
    assert httpx.delete(real_gateway.url + "/admin/engines/extra", headers=ADMIN).status_code == 200
    assert httpx.delete(real_gateway.url + "/admin/engines/extra", headers=ADMIN).status_code == 404


@pytest.mark.parametrize("path", ["/v1/nope", "/admin/nope"])
def test_unknown_path_is_openai_shaped(real_gateway: Gateway, path: str) -> None:
    r = httpx.get(real_gateway.url + path)
    assert r.status_code == 404 and "message" in r.json()["error"]


def test_wrong_method_is_openai_shaped(real_gateway: Gateway) -> None:
    r = httpx.get(real_gateway.url + "/v1/chat/completions")
    assert r.status_code == 405 and "message" in r.json()["error"]
