"""``real_gateway``: the session's real engines behind a gateway of this module's own
(API behaviour, bad input); ``start_gateway`` is in tests/fixtures/gateway.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sage.common.config import GatewaySettings
from tests.fixtures.engines import RealEngines
from tests.fixtures.gateway import Gateway, start_gateway


@pytest.fixture(scope="module")
def real_gateway(real_engines: RealEngines) -> Iterator[Gateway]:
    """The real engines behind a hybrid gateway that takes bodies up to 64 KiB."""
    gw = start_gateway(real_engines.engines, GatewaySettings(max_body_bytes=64 * 1024))
    yield gw
    gw.stop()
