"""Embed / Retrieve / Rerank / Generate against the real engines behind the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from sage.kernel import LocalEnvironment
from sage.llm.client import LLMClient
from sage.middleware.operators import Embed, Generate, Rerank, Retrieve
from sage.middleware.services import MemoryService, VectorStoreService

pytestmark = pytest.mark.engines

DOCS = {"turtle#0": "Lantern turtles nest on the beaches of Calla in June.",
        "salt#0": "Oruna produces about 12,000 tonnes of salt a year.",
        "ferry#0": "The Blue Thread Line runs 14 ferries between the islands."}


def embedding_requests(url: str) -> float:
    text = httpx.get(url + "/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("sage_gateway_requests_total{") and 'kind="embedding"' in line)


def test_embed_map_batches_sends_one_request_per_batch(gateway_url: str) -> None:
    before = embedding_requests(gateway_url)
    env = LocalEnvironment("embed")
    out = env.collect(env.from_batch(list(DOCS.values())).map_batches(Embed, gateway_url))
    env.submit()
    assert embedding_requests(gateway_url) - before == 1
    assert len(out) == 3 and len(out[0]) == 384
    single = Embed(gateway_url).execute({"text": "hello", "id": 1})
    assert single["id"] == 1 and len(single["embedding"]) == 384


@pytest.fixture(scope="module")
def store_path(gateway_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "s"
    with LLMClient(gateway_url) as client:
        vectors = client.embed(list(DOCS.values()))
    store = VectorStoreService(path)
    store.add(list(DOCS), vectors, list(DOCS.values()),
              [{"doc_id": i.split("#")[0]} for i in DOCS])
    store.save()
    return path


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_retrieve_then_generate(gateway_url: str, store_path: Path, mode: str) -> None:
    env = LocalEnvironment(f"rag-{mode}")
    env.register_service("vector_store", VectorStoreService, str(store_path))
    out: list[dict[str, Any]] = []
    stream = env.from_batch(["Where do lantern turtles nest?"]).map(
        Retrieve, gateway_url, mode=mode, k=2)
    if mode == "hybrid":
        stream = stream.map(Rerank, gateway_url, k=1).map(Generate, gateway_url, max_tokens=16)
    stream.sink(out.append)
    env.submit()
    record = out[0]
    assert record["retrieved"][0]["id"] == "turtle#0"
    if mode == "hybrid":
        assert len(record["retrieved"]) == 1 and "rerank_score" in record["retrieved"][0]
        assert record["answer"].strip()


def test_generate_without_context_uses_the_closed_book_prompt(gateway_url: str) -> None:
    gen = Generate(gateway_url, max_tokens=8)
    assert gen.prompt({"question": "Q?"})[-1]["content"] == "Question: Q?\nShort answer:"
    assert isinstance(gen.execute("What colour is the sky?")["answer"], str)
    gen.close()


def test_memory_service_with_real_embeddings(gateway_url: str, tmp_path: Path) -> None:
    memory = MemoryService(tmp_path / "m.sqlite", base_url=gateway_url)
    memory.remember("ana", "Ana's favourite island is Calla.")
    memory.remember("ana", "Ana takes the ferry every Monday.")
    assert memory.recall("ana", "Which island does Ana like best?", k=1)[0]["text"] \
        == "Ana's favourite island is Calla."
    memory.close()


def test_retrieve_embeds_a_batch_in_one_request_and_filters(gateway_url: str,
                                                            store_path: Path) -> None:
    questions = ["Where do lantern turtles nest?", "How much salt does Oruna make?",
                 "How many ferries run between the islands?"]
    env = LocalEnvironment("retrieve-batch")
    env.register_service("vector_store", VectorStoreService, str(store_path))
    batch = [*questions[:2], {"question": questions[2], "filter": {"doc_id": "salt"}}]
    out = env.collect(env.from_batch(batch).map_batches(Retrieve, gateway_url, mode="dense",
                                                        k=1))
    before = embedding_requests(gateway_url)
    env.submit()
    assert embedding_requests(gateway_url) - before == 1
    assert [r["retrieved"][0]["id"] for r in out] == ["turtle#0", "salt#0", "salt#0"]

    env = LocalEnvironment("retrieve-filter")
    env.register_service("vector_store", VectorStoreService, str(store_path))
    out.clear()
    env.from_batch(questions[:1]).map(Retrieve, gateway_url, mode="hybrid", k=3,
                                      filter={"doc_id": ["salt", "ferry"]}).sink(out.append)
    env.submit()
    assert {h["doc_id"] for h in out[0]["retrieved"]} <= {"salt", "ferry"}
