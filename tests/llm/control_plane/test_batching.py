"""Splitting a merged embedding reply back per request."""

from __future__ import annotations

import json

import pytest

from sage.llm.control_plane.batching import merge_inputs, split_embeddings


def reply(vectors: list[list[float]], shuffle: bool = False) -> bytes:
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    if shuffle:
        data.reverse()
    return json.dumps(
        {
            "object": "list",
            "data": data,
            "model": "m",
            "usage": {"prompt_tokens": 9, "total_tokens": 9},
        }
    ).encode()


def test_split_preserves_order_values_and_indices() -> None:
    vectors = [[0.1, -2.5e-05, 3.0], [1.0, 0.0, 0.5], [0.25, 0.125, 1e-30]]
    assert merge_inputs([["a"], ["b", "c"]]) == ["a", "b", "c"]
    first, second = split_embeddings(reply(vectors, shuffle=True), [1, 2], "m")
    one, two = json.loads(first), json.loads(second)
    assert [d["embedding"] for d in one["data"]] == vectors[:1]
    assert [d["embedding"] for d in two["data"]] == vectors[1:]
    assert [d["index"] for d in two["data"]] == [0, 1]
    assert one["usage"]["prompt_tokens"] + two["usage"]["prompt_tokens"] == 9
    assert one["model"] == "m" and one["object"] == "list"


def test_split_keeps_base64_vectors() -> None:
    body = json.dumps(
        {"data": [{"index": 0, "embedding": "AAAA"}, {"index": 1, "embedding": "BBBB"}]}
    ).encode()
    a, b = split_embeddings(body, [1, 1], "m")
    assert json.loads(b)["data"][0]["embedding"] == "BBBB"
    assert json.loads(a)["usage"]["prompt_tokens"] == 0


def test_split_rejects_wrong_count() -> None:
    with pytest.raises(ValueError, match="2 embeddings for 3 inputs"):
        split_embeddings(reply([[1.0], [2.0]]), [1, 2], "m")


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("model_first", [False, True])
def test_fast_split_matches_the_json_path(
    indent: int | None, shuffle: bool, model_first: bool
) -> None:
    from sage.llm.control_plane.batching import _split_arrays, _split_json

    vectors = [[0.1 * i, -2.5e-05, 3.0 + i] for i in range(7)]
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    if shuffle:
        data.reverse()
    usage = {"prompt_tokens": 70, "total_tokens": 70}
    reply_ = {"object": "list", "data": data, "model": "m \"x\"", "usage": usage}
    if model_first:
        reply_ = {"usage": usage, "model": reply_["model"], "data": data}
    body = json.dumps(reply_, indent=indent).encode()
    counts = [1, 4, 2]
    fast = _split_arrays(body, counts, "fallback")
    assert fast is not None
    slow = _split_json(body, counts, "fallback")
    assert [json.loads(a) for a in fast] == [json.loads(b) for b in slow]
    assert json.loads(fast[1])["model"] == 'm "x"'


def test_fast_split_leaves_odd_replies_to_the_json_path() -> None:
    from sage.llm.control_plane.batching import _split_arrays

    base64 = json.dumps({"data": [{"index": 0, "embedding": "AAAA"}]}).encode()
    assert _split_arrays(base64, [1], "m") is None
    twice = reply([[1.0], [2.0]]).replace(b'"index": 1', b'"index": 0')
    assert _split_arrays(twice, [2], "m") is None
    assert len(split_embeddings(reply([[1.0], [2.0]]), [1, 1], "m")) == 2
