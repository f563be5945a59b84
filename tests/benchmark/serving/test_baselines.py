"""Baselines name a policy and its options; switching starts from the defaults."""

from __future__ import annotations

import httpx
import pytest

from sage.benchmark.serving import baselines
from sage.benchmark.serving.baselines import (
    PRECISE,
    options_of,
    parse_baselines,
    policy_of,
    set_gateway_policy,
)
from sage.common.errors import ConfigError


def test_precise_prefix_aware_is_a_baseline_of_its_own() -> None:
    assert parse_baselines("least_loaded,prefix_aware,prefix_aware_precise") == [
        "unified/least_loaded", "unified/prefix_aware", PRECISE,
    ]  # fmt: skip
    assert policy_of(PRECISE) == "prefix_aware"
    assert options_of(PRECISE) == {"source": "precise"}
    assert options_of("unified/prefix_aware") == {}


def test_switching_resets_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """An approximate run after a precise one must not inherit ``source="precise"``."""
    sent: list[dict[str, object]] = []

    def post(url: str, json: dict[str, object], **_: object) -> httpx.Response:
        sent.append(json)
        return httpx.Response(200, json={"name": json["name"]})

    monkeypatch.setattr(baselines.httpx, "post", post)
    set_gateway_policy("http://gw", "prefix_aware", None, {}, reset=True)
    assert sent == [{"name": "prefix_aware", "options": {}, "reset": True}]


def test_a_policy_with_options_is_a_baseline() -> None:
    (name,) = parse_baselines("prefix_aware+hold_s=5+source=precise")
    assert name == "unified/prefix_aware+hold_s=5+source=precise"
    assert policy_of(name) == "prefix_aware"
    assert options_of(name) == {"hold_s": 5, "source": "precise"}
    assert policy_of("unified/least_loaded+load_weight=1") == "least_loaded"  # from a result file
    with pytest.raises(ConfigError):
        parse_baselines("prefix_aware+hold_s")
