"""Gateways for the attack replays: over one fake engine (real HTTP) for the probes that
need no model, and over the session's real engines for the engine-input probes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sage.common.config import GatewaySettings
from sage.llm.engines.spec import EngineInfo
from tests.fixtures.engines import RealEngines
from tests.fixtures.gateway import Gateway, start_gateway


@pytest.fixture(scope="module")
def fake_gateway(fake_engine: EngineInfo) -> Iterator[Gateway]:
    """The default setup an attacker meets: loopback, no API keys."""
    gw = start_gateway([fake_engine], GatewaySettings())
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def model_gateway(real_engines: RealEngines) -> Iterator[Gateway]:
    """The session's real engines (llama.cpp, sentence-transformers) behind a gateway."""
    gw = start_gateway(real_engines.engines, GatewaySettings())
    yield gw
    gw.stop()
