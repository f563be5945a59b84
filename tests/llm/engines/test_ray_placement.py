"""What a Ray-placed engine binds and which key it gets, decided before it starts (the
Ray side is in ``tests/ray/test_engines_on_ray.py``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sage.common.errors import ConfigError
from sage.llm.engine_manager import ray_address_for
from sage.llm.engines.launch import cluster_bind, resolve_spec
from sage.llm.engines.spec import EngineSpec, RayPlacement


def test_loopback_on_a_one_node_cluster_here() -> None:
    spec = EngineSpec(backend="fake", placement=RayPlacement())
    assert cluster_bind(spec, cluster_is_this_machine=True) == spec


def test_elsewhere_binds_all_interfaces_with_a_generated_key() -> None:
    spec = EngineSpec(backend="fake", placement=RayPlacement())
    bound = cluster_bind(spec, cluster_is_this_machine=False)
    assert bound.host == "0.0.0.0" and bound.api_key and len(bound.api_key) >= 32
    assert cluster_bind(spec, False).api_key != bound.api_key  # one per engine
    keyed = spec.model_copy(update={"api_key": "sk-mine"})
    assert cluster_bind(keyed, False).api_key == "sk-mine"


def test_explicit_exposure_is_allowed_on_ray_only() -> None:
    exposed = EngineSpec(backend="fake", host="0.0.0.0", placement=RayPlacement())
    assert resolve_spec(exposed).host == "0.0.0.0"  # the manager adds the key
    assert cluster_bind(resolve_spec(exposed), True).api_key
    with pytest.raises(ConfigError, match="API keys are required"):
        resolve_spec(exposed.model_copy(update={"placement": None}))


def test_detached_engines_join_the_running_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert ray_address_for(RayPlacement(), detached=False) is None
    assert ray_address_for(RayPlacement(), detached=True) == "auto"
    assert ray_address_for(RayPlacement(address="ray://h:10001"), True) == "ray://h:10001"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert ray_address_for(RayPlacement(), detached=True) == "10.0.0.1:6379"


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValidationError, match=">= 0"):
        RayPlacement(resources={"num_gpus": -1})
