"""Bad input on every endpoint: OpenAI-shaped 4xx, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.admin import ADMIN
from tests.fixtures.gateway import Gateway

MSG = [{"role": "user", "content": "hi"}]

BAD_BODIES: dict[str, list[object]] = {
    "/v1/chat/completions": [
        {},
        {"messages": []},
        {"messages": "hi"},
        {"messages": [{"content": "x"}]},
        {"messages": MSG, "max_tokens": "5"},
        {"messages": MSG, "max_tokens": 0},
        {"messages": MSG, "temperature": 9},
        {"messages": MSG, "stream": "yes"},
        {"messages": MSG, "model": 3},
        {"messages": [1, 2]},
        {"messages": [{"role": "wizard", "content": "x"}]},  # refused by the engine: 400 too
        {"messages": MSG, "n": 0},
        {"messages": MSG, "n": 1000},
        {"messages": MSG, "top_p": 0},  # the engines' bound: the gateway applies the same
        {"messages": MSG, "response_format": {"type": "xml"}},
        {"messages": MSG, "tool_choice": "required"},
        {"messages": MSG, "top_logprobs": 2},
        {"messages": [{"role": "user", "content": [{"type": "image_url"}, {"text": "x"}]}]},
        {"messages": MSG, "stream": True, "max_tokens": -3},
        [],
        [MSG],
        "x",
        5,
        None,
    ],
    "/v1/completions": [
        {},
        {"prompt": 3},
        {"prompt": []},
        {"prompt": "x", "max_tokens": -1},
        {"prompt": [[]]},
        {"prompt": [1.5]},
        {"prompt": "x", "n": 0},
        {"prompt": "x", "logprobs": 21},
        {"prompt": "x", "stream": "no"},
        {"prompt": "x", "temperature": -1},
    ],
    "/v1/embeddings": [
        {},
        {"input": ""},
        {"input": []},
        {"input": [""]},
        {"input": 5},
        {"input": [1, 2]},
        {"input": {"a": 1}},
        {"input": "x", "encoding_format": "hex"},
        {"input": "x", "dimensions": 0},
        {"input": "x", "model": 5},
    ],
}


@pytest.mark.parametrize(
    ("path", "body"), [(p, b) for p, bodies in BAD_BODIES.items() for b in bodies]
)
def test_bad_fields_are_400(real_gateway: Gateway, path: str, body: object) -> None:
    r = httpx.post(real_gateway.url + path, json=body)
    assert r.status_code == 400, (body, r.text)
    error = r.json()["error"]
    assert error["message"] and error["type"] == "invalid_request_error" and error["code"]


@pytest.mark.parametrize("path", list(BAD_BODIES) + ["/admin/engines", "/admin/policy"])
@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b'{"a": 1', b"[1,2,"])
def test_malformed_json_is_400(real_gateway: Gateway, path: str, raw: bytes) -> None:
    r = httpx.post(
        real_gateway.url + path,
        content=raw,
        headers={"content-type": "application/json", **ADMIN},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] in {"invalid_json", "invalid_request"}


@pytest.mark.parametrize("path", list(BAD_BODIES))
def test_unknown_model_is_404(real_gateway: Gateway, path: str) -> None:
    body = {"model": "no-such-model", "messages": MSG, "prompt": "x", "input": "x"}
    r = httpx.post(real_gateway.url + path, json=body)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize("path", list(BAD_BODIES))
def test_oversize_body_is_413(real_gateway: Gateway, path: str) -> None:
    big = "x" * (70 * 1024)  # the fixture allows 64 KiB
    r = httpx.post(
        real_gateway.url + path,
        json={"messages": [{"role": "user", "content": big}], "prompt": big, "input": big},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"


def test_oversize_body_without_content_length_is_413(real_gateway: Gateway) -> None:
    def chunks():  # chunked transfer: no Content-Length, counted as it arrives
        for _ in range(80):
            yield b"x" * 1024

    r = httpx.post(
        real_gateway.url + "/v1/embeddings",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413


def test_bad_scheduling_headers_are_400(real_gateway: Gateway) -> None:
    r = httpx.post(
        real_gateway.url + "/v1/embeddings",
        content=b'{"input": "x"}',
        headers={"content-type": "application/json", "x-sage-priority": "high"},
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "x-sage-priority"
    r = httpx.post(
        real_gateway.url + "/v1/embeddings",
        content=b'{"input": "x"}',
        headers={"content-type": "application/json", "x-sage-deadline-ms": "-5"},
    )
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/engines", {"url": "ftp://x"}),
        ("/admin/engines", {"url": "http://x", "kind": "gpu"}),
        ("/admin/engines", {"nope": 1}),
        ("/admin/engines", {"url": "http://127.0.0.1:1", "capacity": 0}),
        ("/admin/engines", {"url": "http://127.0.0.1:1", "models": "m"}),
        ("/admin/policy", {}),
        ("/admin/policy", {"name": 5}),
        ("/admin/policy", {"name": "fifo", "options": []}),
        ("/admin/policy", {"name": "fifo", "options": {"max_queue": "big"}}),
        ("/admin/policy", ["fifo"]),
    ],
)
def test_admin_bad_bodies_are_400(real_gateway: Gateway, path: str, body: object) -> None:
    r = httpx.post(real_gateway.url + path, json=body, headers=ADMIN)
    assert r.status_code == 400, (body, r.text)
    assert r.json()["error"]["message"]


def test_fuzzed_payloads_never_500(real_gateway: Gateway) -> None:
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import strategies as st

    json_values = st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "model",
                        "messages",
                        "input",
                        "prompt",
                        "stream",
                        "max_tokens",
                        "role",
                        "content",
                    ]
                ),
                children,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
    client = httpx.Client(base_url=real_gateway.url, timeout=30)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(list(BAD_BODIES)), body=json_values)
    def check(path: str, body: object) -> None:
        # Valid bodies reach the real engines: keep any generation they ask for short.
        tokens = body.get("max_tokens") if isinstance(body, dict) else None
        assume(not isinstance(tokens, int) or tokens <= 16)
        r = client.post(path, json=body)
        assert r.status_code < 500, (path, body, r.text)
        if r.status_code >= 400:
            assert "message" in r.json()["error"]

    try:
        check()
    finally:
        client.close()
