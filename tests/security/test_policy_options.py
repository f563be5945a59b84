"""Issue 23, item 4: policy options that would hang or break the gateway are a 400, and
the running policy stays as it was."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.admin import ADMIN
from tests.fixtures.gateway import CHAT, Gateway


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("fair", {"quantum": 0}),
        ("fair", {"quantum": -5}),
        ("fair", {"quantum": "abc"}),
        ("fair", {"weights": {"team-a": 0}}),
        ("fair", {"weights": {"team-a": -1}}),
        ("fair", {"weights": ["team-a"]}),
        ("hybrid", {"max_wait_s": 1e9}),
    ],
)
def test_bad_policy_options_are_400(fake_gateway: Gateway, name: str, options: dict) -> None:
    before = httpx.get(fake_gateway.url + "/admin/policy", headers=ADMIN).json()
    r = httpx.post(fake_gateway.url + "/admin/policy", json={"name": name, "options": options},
                   headers=ADMIN)
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert "dictionary update sequence" not in message and "Traceback" not in message
    after = httpx.get(fake_gateway.url + "/admin/policy", headers=ADMIN).json()
    assert after["name"] == before["name"] and after.get("options") == before.get("options")
    assert httpx.post(fake_gateway.url + "/v1/chat/completions", json=CHAT,
                      timeout=30).status_code == 200
