"""Defaults for engines SAGE does not run (issue 18 item 5): an external LLM server gets
a vLLM-class capacity, and an engine registered for one kind offers only that kind."""

from __future__ import annotations

from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.engines.external import parse_engine_url, with_served_models
from sage.llm.engines.spec import DEFAULT_EXTERNAL_LLM_CAPACITY, EngineInfo, EngineSpec


def test_external_llm_capacity_defaults_to_a_batching_server() -> None:
    assert parse_engine_url("http://h:8000").capacity == DEFAULT_EXTERNAL_LLM_CAPACITY == 32
    assert parse_engine_url("http://h:8000,kind=both").capacity == 32
    assert parse_engine_url("http://h:8000,capacity=3").capacity == 3
    assert parse_engine_url("http://h:8000,kind=embedding").capacity == 8
    assert EngineSpec(kind="llm", backend="llama_cpp").capacity == 1  # SAGE's own: as declared


def test_llm_engine_does_not_list_its_embedding_model(fake_engine: EngineInfo) -> None:
    # The fake engine serves both kinds; registered as kind=llm it offers only its LLM.
    llm = with_served_models(EngineSpec(kind="llm", backend="external", url=fake_engine.url))
    both = with_served_models(EngineSpec(kind="both", backend="external", url=fake_engine.url))
    assert llm.models == ["fake-llm"]
    assert sorted(both.models) == ["fake-embedding", "fake-llm"]
    cp = ControlPlane("fifo")
    cp.add_engine_spec(llm)
    assert [m["id"] for m in cp.models()] == ["fake-llm"]
