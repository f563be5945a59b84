"""The real sentence-transformers engine (MiniLM): shapes, batching, errors."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from tests.fixtures.engines import RealEngines


@pytest.fixture(scope="module")
def embed_url(real_engines: RealEngines) -> str:
    return real_engines.embedding.url


def embed(url: str, data: str | list[str]) -> dict:
    r = httpx.post(url + "/v1/embeddings", json={"input": data}, timeout=60)
    r.raise_for_status()
    return r.json()


def test_string_input(embed_url: str, real_engines: RealEngines) -> None:
    out = embed(embed_url, "SAGE serves embeddings")
    assert out["object"] == "list" and out["model"] == real_engines.embedding.model
    assert len(out["data"]) == 1 and out["data"][0]["index"] == 0
    vector = out["data"][0]["embedding"]
    assert len(vector) == 384
    assert math.isclose(sum(v * v for v in vector), 1.0, rel_tol=0.01)  # normalised
    assert out["usage"]["prompt_tokens"] > 0


def test_list_input_keeps_order(embed_url: str) -> None:
    texts = ["first sentence", "second one", "a third, longer sentence about Paris"]
    out = embed(embed_url, texts)
    assert [d["index"] for d in out["data"]] == [0, 1, 2]
    single = embed(embed_url, texts[2])["data"][0]["embedding"]
    assert out["data"][2]["embedding"] == pytest.approx(single, abs=1e-5)


async def test_concurrent_requests_are_batched_and_identical(embed_url: str) -> None:
    texts = [f"sentence number {i} about retrieval" for i in range(24)]
    async with httpx.AsyncClient(timeout=60) as client:
        singles = [
            (await client.post(embed_url + "/v1/embeddings", json={"input": t})).json()
            for t in texts[:4]
        ]
        before = (await client.get(embed_url + "/health")).json()
        responses = await asyncio.gather(
            *[client.post(embed_url + "/v1/embeddings", json={"input": t}) for t in texts]
        )
        after = (await client.get(embed_url + "/health")).json()
    vectors = [r.json()["data"][0]["embedding"] for r in responses]
    for single, batched in zip(singles, vectors[:4], strict=False):
        assert batched == pytest.approx(single["data"][0]["embedding"], abs=1e-5)
    assert after["items"] - before["items"] == len(texts)
    assert after["batches"] - before["batches"] < len(texts)  # some requests shared a call


async def test_concurrent_requests_of_mixed_lengths_all_succeed(embed_url: str) -> None:
    """Token counting and encoding share one tokenizer: done from two threads at once,
    batches of different lengths broke (500 'expected sequence of length ...')."""
    word = "retrieval "
    bodies = [
        {"input": [word * (1 + (i * 7 + j * 13) % 90) for j in range(1 + i % 6)]}
        for i in range(120)
    ]
    async with httpx.AsyncClient(timeout=120) as client:
        replies = await asyncio.gather(
            *[client.post(embed_url + "/v1/embeddings", json=b) for b in bodies]
        )
    assert [r.status_code for r in replies] == [200] * len(bodies)
    for body, reply in zip(bodies, replies, strict=True):
        assert len(reply.json()["data"]) == len(body["input"])
        assert reply.json()["usage"]["prompt_tokens"] >= 3 * len(body["input"])


@pytest.mark.parametrize(
    "body",
    [{"input": []}, {"input": [1, 2, 3]}, {}, {"input": "x", "encoding_format": "hex"}],
)
def test_bad_input_is_openai_400(embed_url: str, body: dict) -> None:
    r = httpx.post(embed_url + "/v1/embeddings", json=body)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_base64_encoding(embed_url: str) -> None:
    import base64
    import struct

    r = httpx.post(embed_url + "/v1/embeddings", json={"input": "x", "encoding_format": "base64"})
    raw = base64.b64decode(r.json()["data"][0]["embedding"])
    assert len(struct.unpack(f"<{len(raw) // 4}f", raw)) == 384
