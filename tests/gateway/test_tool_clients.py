"""Agent-facing clients, unmodified, against the gateway over the real engines: the
openai SDK (tools, streamed tool calls, ``parse`` into a pydantic model, model cards)
and LangChain (``bind_tools``, ``with_structured_output`` by every method, embeddings).
No network: everything runs against the session's default stack."""

from __future__ import annotations

import json

import httpx
import pytest
from openai import OpenAI
from pydantic import BaseModel

from tests.fixtures.openai_tools import ASK, WEATHER
from tests.gateway.test_openai_client import kinds


class Person(BaseModel):
    name: str
    age: int


@pytest.fixture(scope="module")
def client(gateway_url: str) -> OpenAI:
    return OpenAI(base_url=gateway_url + "/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def llm(gateway_url: str) -> str:
    return kinds(gateway_url)["llm"]


def test_sdk_tool_call(client: OpenAI, llm: str) -> None:
    reply = client.chat.completions.create(
        model=llm, messages=ASK, tools=[WEATHER], tool_choice="required",  # type: ignore[arg-type, list-item]
        temperature=0, max_tokens=64,
    )  # fmt: skip
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert isinstance(json.loads(call.function.arguments)["city"], str)  # type: ignore[union-attr]


def test_sdk_streamed_tool_call(client: OpenAI, llm: str) -> None:
    stream = client.chat.completions.create(
        model=llm, messages=ASK, tools=[WEATHER], tool_choice="required",  # type: ignore[arg-type, list-item]
        temperature=0, max_tokens=64, stream=True,
    )  # fmt: skip
    names, arguments, finish = [], "", None
    for chunk in stream:
        if not chunk.choices:
            continue
        for call in chunk.choices[0].delta.tool_calls or []:
            names += [call.function.name] if call.function and call.function.name else []
            arguments += call.function.arguments or "" if call.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert names == ["get_weather"] and finish == "tool_calls"
    assert "city" in json.loads(arguments)


def test_sdk_parse_into_a_pydantic_model(client: OpenAI, llm: str) -> None:
    reply = client.chat.completions.parse(
        model=llm, messages=[{"role": "user", "content": "Describe Ada Lovelace."}],
        response_format=Person, temperature=0, max_tokens=64,
    )  # fmt: skip
    assert isinstance(reply.choices[0].message.parsed, Person)


def test_sdk_models_retrieve(client: OpenAI, llm: str) -> None:
    card = client.models.retrieve(llm)
    assert card.id == llm
    assert (card.model_extra or {}).get("max_model_len", 0) > 0


def test_token_id_embeddings_get_a_400_that_says_what_to_do(gateway_url: str) -> None:
    model = kinds(gateway_url)["embedding"]
    r = httpx.post(gateway_url + "/v1/embeddings", json={"model": model, "input": [[101, 2023]]})
    assert r.status_code == 400
    assert "check_embedding_ctx_length=False" in r.json()["error"]["message"]


def test_langchain_tools_structured_output_and_embeddings(gateway_url: str, llm: str) -> None:
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI, OpenAIEmbeddings

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        return "sunny"

    chat = ChatOpenAI(base_url=gateway_url + "/v1", api_key="unused", model=llm,  # type: ignore[arg-type]
                      temperature=0, max_tokens=64, max_retries=0)  # fmt: skip
    for choice in ("any", "get_weather"):
        message = chat.bind_tools([get_weather], tool_choice=choice).invoke("Weather in Paris?")
        assert [c["name"] for c in message.tool_calls] == ["get_weather"]  # type: ignore[attr-defined]
        assert isinstance(message.tool_calls[0]["args"]["city"], str)  # type: ignore[attr-defined]
    question = "Describe Ada Lovelace as JSON with a name and an age."
    for method in ("function_calling", "json_schema"):
        person = chat.with_structured_output(Person, method=method).invoke(question)
        assert isinstance(person, Person), method
    as_dict = chat.with_structured_output(Person.model_json_schema(), method="json_mode")
    assert isinstance(as_dict.invoke(question), dict)

    embeddings = OpenAIEmbeddings(base_url=gateway_url + "/v1", api_key="unused",  # type: ignore[arg-type]
                                  model=kinds(gateway_url)["embedding"],
                                  check_embedding_ctx_length=False)  # fmt: skip
    vectors = embeddings.embed_documents(["hello world", "the sea"])
    assert len(vectors) == 2 and len(vectors[0]) == len(embeddings.embed_query("hi"))
