"""The fake engine: real HTTP, configurable latency and tokens, dying on demand."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from sage.llm.engine_manager import pid_alive
from sage.llm.engines.fake import fake_vector
from sage.llm.engines.spec import EngineInfo
from tests.fixtures.engines import wait_until

Factory = Callable[..., EngineInfo]


def test_chat_stream_and_embeddings(fake_engine_factory: Factory) -> None:
    info = fake_engine_factory(tokens=5)
    body = {"model": "fake-llm", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream("POST", info.url + "/v1/chat/completions", json=body) as r:
        lines = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    *chunks, last = [json.loads(x) for x in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text.split() == [f"tok{i}" for i in range(5)]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert last["choices"] == [] and last["usage"]["completion_tokens"] == 5
    out = httpx.post(info.url + "/v1/embeddings", json={"input": ["a", "b"]}).json()
    assert out["data"][1]["embedding"] == pytest.approx(fake_vector("b", 384))


def test_max_tokens_and_bad_input(fake_engine_factory: Factory) -> None:
    info = fake_engine_factory(tokens=50)
    out = httpx.post(info.url + "/v1/completions", json={"prompt": "x", "max_tokens": 3}).json()
    assert out["usage"]["completion_tokens"] == 3 and out["choices"][0]["finish_reason"] == "length"
    r = httpx.post(info.url + "/v1/completions", json={"prompt": "x", "max_tokens": -1})
    assert r.status_code == 400 and r.json()["error"]["param"] == "max_tokens"


def test_dies_mid_stream(fake_engine_factory: Factory) -> None:
    info = fake_engine_factory(tokens=20, token_delay_ms=5)
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    received: list[str] = []
    with (
        pytest.raises(httpx.HTTPError),  # the connection breaks before [DONE]
        httpx.stream(
            "POST",
            info.url + "/v1/chat/completions",
            json=body,
            headers={"X-Fake-Die-After-Tokens": "3"},
            timeout=10,
        ) as r,
    ):
        for line in r.iter_lines():
            received.append(line)
    assert any("tok2" in line for line in received)
    assert not any("[DONE]" in line for line in received)
    assert info.pid is not None
    pid = info.pid
    wait_until(lambda: not pid_alive(pid), "the engine to exit")


def test_die_after_requests_and_runtime_config(fake_engine_factory: Factory) -> None:
    info = fake_engine_factory(die_after_requests=2)
    assert httpx.post(info.url + "/v1/embeddings", json={"input": "a"}).status_code == 200
    with pytest.raises(httpx.HTTPError):
        httpx.post(info.url + "/v1/embeddings", json={"input": "a"}, timeout=5)
    other = fake_engine_factory()
    httpx.post(other.url + "/fake/config", json={"fail_status": 503}).raise_for_status()
    r = httpx.post(other.url + "/v1/embeddings", json={"input": "a"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "fake_failure"


def test_counters_base64_and_bad_overrides(fake_engine_factory: Factory) -> None:
    info = fake_engine_factory()
    r = httpx.post(info.url + "/v1/embeddings", json={"input": ["a", "b", "c"]})
    assert r.status_code == 200
    r = httpx.post(info.url + "/v1/embeddings", json={"input": "a", "encoding_format": "base64"})
    assert isinstance(r.json()["data"][0]["embedding"], str)
    stats = httpx.get(info.url + "/health").json()
    assert (stats["embedding_calls"], stats["embedding_inputs"]) == (2, 4)
    assert stats["max_embedding_batch"] == 3 and stats["requests"] == 2
    bad = httpx.post(info.url + "/v1/embeddings", json={"input": "a", "fake": {"latency_ms": -1}})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "fake"
    bad = httpx.post(
        info.url + "/v1/completions", json={"prompt": "x"}, headers={"X-Fake-Tokens": "many"}
    )
    assert bad.status_code == 400
    assert httpx.post(info.url + "/fake/config", json={"tokens": -5}).status_code == 400
