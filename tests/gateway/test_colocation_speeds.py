"""Co-location and live speeds (issue 18 item 1): engines SAGE starts name the hardware
they share, external ones declare it, and the gateway learns each engine's speeds from
the replies it relays and lists them."""

from __future__ import annotations

import socket

import httpx
import pytest

from sage.llm.engines.external import engine_url_arg, parse_engine_url
from sage.llm.engines.spec import EngineInfo
from sage.llm.launchers.placement import device_group
from tests.fixtures.admin import ADMIN
from tests.fixtures.engines import FakeEngineFactory, wait_until
from tests.fixtures.gateway import start_gateway


def test_device_group_names_host_and_device() -> None:
    assert device_group("h1", "cpu") == "host:h1:cpu"
    assert device_group("h1", "cuda") == "host:h1:cuda:0"
    assert device_group("h1", "cuda:3") == "host:h1:cuda:3"


def test_engine_url_declares_a_group_and_round_trips() -> None:
    spec = parse_engine_url("http://h:8000,kind=embedding,device_group=gpu-box:0")
    assert spec.device_group == "gpu-box:0"
    assert parse_engine_url(engine_url_arg(spec)).device_group == "gpu-box:0"
    assert parse_engine_url("http://h:8000").device_group == ""


def test_local_engines_share_a_group_and_speeds_are_learned(
    fake_engine_factory: FakeEngineFactory,
) -> None:
    llm = fake_engine_factory(kind="llm", tokens=12, token_delay_ms=5.0)
    emb = fake_engine_factory(kind="embedding", latency_ms=5.0)
    group = f"host:{socket.gethostname()}:cpu"
    assert llm.spec.device_group == emb.spec.device_group == group
    gw = start_gateway([llm, emb], policy="fifo")
    try:
        with httpx.Client(base_url=gw.url, timeout=30) as client:
            prompt = "word " * 80  # ~100 estimated tokens: enough to time prefill
            for _ in range(4):
                body = {"model": "fake-llm", "stream": True, "max_tokens": 12,
                        "messages": [{"role": "user", "content": prompt}]}  # fmt: skip
                with client.stream("POST", "/v1/chat/completions", json=body) as reply:
                    assert reply.status_code == 200
                    reply.read()
                emb_body = {"model": "fake-embedding", "input": ["a", "b", "c"]}
                assert client.post("/v1/embeddings", json=emb_body).status_code == 200

            def listed() -> dict[str, dict[str, object]]:
                engines = client.get("/admin/engines", headers=ADMIN).json()["engines"]
                return {e["id"]: e for e in engines}

            wait_until(lambda: listed()[llm.id]["decode_tokens_per_s"], "a decode estimate")
            engines = listed()
            assert engines[llm.id]["device_group"] == engines[emb.id]["device_group"] == group
            # 5 ms between tokens: ~200 tokens/s (loose: a shared CI machine)
            assert 50 < float(engines[llm.id]["decode_tokens_per_s"]) < 400  # type: ignore[arg-type]
            assert float(engines[llm.id]["prefill_tokens_per_s"]) > 0  # type: ignore[arg-type]
            assert float(engines[emb.id]["embed_items_per_s"]) > 0  # type: ignore[arg-type]
            metrics = client.get("/metrics", headers=ADMIN).text
            assert (
                f'sage_gateway_engine_decode_tokens_per_s{{device_group="{group}",engine="{llm.id}"}}'
                in metrics
            )
    finally:
        gw.stop()


@pytest.mark.parametrize("declared", ["rack1:gpu0", ""])
def test_admin_registration_takes_a_device_group(fake_engine: EngineInfo, declared: str) -> None:
    gw = start_gateway([], policy="fifo")
    try:
        body = {"url": fake_engine.url, "kind": "both", "device_group": declared}
        reply = httpx.post(gw.url + "/admin/engines", json=body, headers=ADMIN, timeout=30)
        assert reply.status_code == 201
        assert reply.json()["device_group"] == declared
    finally:
        gw.stop()
