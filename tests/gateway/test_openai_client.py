"""The official ``openai`` client, unmodified, against the gateway and real engines."""

from __future__ import annotations

import math

import httpx
import pytest
from openai import OpenAI

from sage.common.config import GatewaySettings, TenantKey
from sage.gateway.stack import ServingStack
from sage.llm.client import LLMClient
from tests.fixtures.engines import RealEngines


@pytest.fixture(scope="module")
def client(gateway_url: str) -> OpenAI:
    return OpenAI(base_url=gateway_url + "/v1", api_key="unused", max_retries=0)


def kinds(gateway_url: str) -> dict[str, str]:
    """A model id per kind, from the gateway's model list."""
    out: dict[str, str] = {}
    for model in httpx.get(gateway_url + "/v1/models").json()["data"]:
        for kind in model["kinds"]:
            out.setdefault(kind, model["id"])
    return out


def test_models(client: OpenAI, gateway_url: str) -> None:
    ids = {m.id for m in client.models.list().data}
    assert set(kinds(gateway_url).values()) <= ids
    assert {"llm", "embedding"} <= set(kinds(gateway_url))


def test_chat(client: OpenAI, gateway_url: str) -> None:
    reply = client.chat.completions.create(
        model=kinds(gateway_url)["llm"],
        max_tokens=8,
        temperature=0.0,
        messages=[{"role": "user", "content": "Say hello."}],
    )
    assert reply.choices[0].message.content
    assert reply.usage is not None and reply.usage.completion_tokens > 0


def test_chat_streaming(client: OpenAI, gateway_url: str) -> None:
    stream = client.chat.completions.create(
        model=kinds(gateway_url)["llm"],
        max_tokens=8,
        temperature=0.0,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Count to five."}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_completion(client: OpenAI, gateway_url: str) -> None:
    reply = client.completions.create(
        model=kinds(gateway_url)["llm"], prompt="The sky is", max_tokens=4, temperature=0.0
    )
    assert reply.choices[0].text is not None


def test_embeddings(client: OpenAI, gateway_url: str) -> None:
    model = kinds(gateway_url)["embedding"]
    one = client.embeddings.create(model=model, input="hello world")
    many = client.embeddings.create(model=model, input=["hello world", "the sea"])
    assert len(one.data) == 1 and len(many.data) == 2
    assert one.data[0].embedding == pytest.approx(many.data[0].embedding, abs=1e-4)
    norm = math.sqrt(sum(v * v for v in many.data[1].embedding))
    assert norm > 0


def test_sage_client_through_gateway(gateway_url: str) -> None:
    with LLMClient(gateway_url) as llm:
        assert llm.chat("Say hi.", max_tokens=4)
        vectors = llm.embed(["a", "b", "c"])
        assert len(vectors) == 3 and len(vectors[0]) == len(vectors[2])


def test_openai_errors_are_shaped(client: OpenAI) -> None:
    import openai

    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.status_code == 404
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="default", messages=[])


def test_api_keys_with_the_openai_client(real_engines: RealEngines) -> None:
    """A keyed gateway: the key maps to a tenant; a wrong key is openai's AuthenticationError."""
    import openai

    settings = GatewaySettings(api_keys=[TenantKey(key="sk-team-a", tenant="team-a")])
    with ServingStack(engines=real_engines.engines, settings=settings) as stack:
        good = OpenAI(base_url=stack.url + "/v1", api_key="sk-team-a", max_retries=0)
        assert {m.id for m in good.models.list().data} == {e.model for e in real_engines.engines}
        vectors = good.embeddings.create(model=real_engines.embedding.model, input=["a", "b"])
        assert len(vectors.data) == 2
        bad = OpenAI(base_url=stack.url + "/v1", api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad.embeddings.create(model=real_engines.embedding.model, input="a")
        assert 'tenant="team-a"' in httpx.get(stack.url + "/metrics", headers={"X-API-Key": "sk-team-a"}).text
