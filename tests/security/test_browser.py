"""Issue 23, items 1, 7 and 11: a web page the user visits must not drive a local gateway
(cross-site POSTs, DNS rebinding, admin calls without the token, metadata engines)."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.admin import ADMIN
from tests.fixtures.gateway import CHAT, Gateway

EVIL = {"Origin": "http://evil.example"}


def test_text_plain_post_is_415(fake_gateway: Gateway) -> None:
    """A browser's preflight-free ``text/plain`` POST never reaches a JSON endpoint."""
    for path in ("/admin/engines", "/admin/policy", "/v1/chat/completions"):
        r = httpx.post(
            fake_gateway.url + path,
            content=b'{"name": "round_robin"}',
            headers={"Content-Type": "text/plain", **ADMIN},
        )
        assert r.status_code == 415, (path, r.text)
        assert r.json()["error"]["code"] == "unsupported_media_type"


def test_cross_site_origin_is_403(fake_gateway: Gateway) -> None:
    for path, body in (("/admin/policy", {"name": "round_robin"}), ("/v1/chat/completions", CHAT)):
        r = httpx.post(fake_gateway.url + path, json=body, headers={**EVIL, **ADMIN})
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "origin_not_allowed"
    assert httpx.get(fake_gateway.url + "/v1/models", headers=EVIL).status_code == 403
    # a page on the user's own machine (the studio) and same-origin calls are fine
    local = {"Origin": "http://localhost:5173"}
    assert httpx.post(fake_gateway.url + "/v1/chat/completions", json=CHAT,
                      headers=local).status_code == 200
    assert httpx.get(fake_gateway.url + "/v1/models",
                     headers={"Origin": "null"}).status_code == 403


def test_dns_rebinding_host_is_403(fake_gateway: Gateway) -> None:
    r = httpx.post(fake_gateway.url + "/v1/chat/completions", json=CHAT,
                   headers={"Host": "attacker.example"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "host_not_allowed"
    for host in ("localhost", "127.0.0.1", f"127.0.0.1:{fake_gateway.url.rsplit(':', 1)[1]}"):
        assert httpx.get(fake_gateway.url + "/v1/models", headers={"Host": host}).status_code == 200


def test_admin_needs_the_token_even_on_loopback(fake_gateway: Gateway) -> None:
    policy = httpx.get(fake_gateway.url + "/admin/policy", headers=ADMIN).json()["name"]
    for method, path, body in (
        ("GET", "/admin/engines", None),
        ("POST", "/admin/engines", {"url": "http://127.0.0.1:9", "id": "evil"}),
        ("POST", "/admin/policy", {"name": "round_robin"}),
        ("DELETE", "/admin/engines/x", None),
    ):
        r = httpx.request(method, fake_gateway.url + path, json=body)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "admin_token_required"
        wrong = httpx.request(method, fake_gateway.url + path, json=body,
                              headers={"X-SAGE-Admin-Token": "guess"})
        assert wrong.status_code == 401
    assert httpx.get(fake_gateway.url + "/admin/policy", headers=ADMIN).json()["name"] == policy


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1",
        "http://[fe80::1]:8000",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_metadata_engine_urls_are_refused(fake_gateway: Gateway, url: str) -> None:
    r = httpx.post(fake_gateway.url + "/admin/engines", json={"url": url}, headers=ADMIN)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "engine_url_not_allowed"


def test_taken_engine_id_is_409(fake_gateway: Gateway) -> None:
    engine = fake_gateway.engines[0]
    r = httpx.post(fake_gateway.url + "/admin/engines",
                   json={"url": "http://127.0.0.1:9", "id": engine.id}, headers=ADMIN)
    assert r.status_code == 409 and r.json()["error"]["code"] == "engine_exists"
    listed = httpx.get(fake_gateway.url + "/admin/engines", headers=ADMIN).json()["engines"]
    assert [e["url"] for e in listed if e["id"] == engine.id] == [engine.url]  # untouched
    assert httpx.post(fake_gateway.url + "/v1/chat/completions", json=CHAT).status_code == 200
