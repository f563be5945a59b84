"""Live engine speed estimates: the EWMA, what gets published, and the cheap parsers."""

from __future__ import annotations

import time

import pytest

from sage.llm.control_plane.engines import EngineEndpoint
from sage.llm.control_plane.speeds import (
    Ewma,
    SpeedEstimator,
    completion_tokens,
    token_events,
)
from sage.llm.control_plane.transport import _StreamClock, prefilled_tokens
from sage.llm.control_plane.types import EngineState, Request, RequestKind


def _state(**speeds: float) -> EngineState:
    return EngineState("e0", frozenset({"llm", "embedding"}), frozenset(), **speeds)


def test_ewma_starts_at_the_first_sample_and_moves_by_alpha() -> None:
    e = Ewma(alpha=0.5)
    assert e.rate == 0.0
    e.add(0.1)
    assert e.rate == pytest.approx(10.0)
    e.add(0.3)  # halfway: 0.2 s per unit
    assert e.rate == pytest.approx(5.0)
    e.add(0.0)  # nonsense is ignored
    e.add(float("nan"))
    assert e.samples == 2


def test_published_after_min_samples_then_only_on_a_real_change() -> None:
    state = _state()
    est = SpeedEstimator(alpha=0.5, min_samples=3, publish_change=0.1)
    est.register(state)
    for _ in range(2):
        est.embedded(state, 10, 0.1)  # 100 items/s
    assert state.embed_items_per_s == 0.0  # not yet: too few samples
    est.embedded(state, 10, 0.1)
    assert state.embed_items_per_s == pytest.approx(100.0)
    est.embedded(state, 10, 0.104)  # ~2% slower: not worth re-keying the policies
    assert state.embed_items_per_s == pytest.approx(100.0)
    assert est.estimates("e0")["embed_items_per_s"] < 100.0
    for _ in range(6):
        est.embedded(state, 10, 0.2)  # the engine got twice as slow
    assert state.embed_items_per_s == pytest.approx(50.0, rel=0.1)


def test_declared_speeds_are_never_overwritten_and_unknown_engines_ignored() -> None:
    state = _state(decode_tokens_per_s=50.0)
    est = SpeedEstimator(min_samples=1)
    est.register(state)
    for _ in range(5):
        est.decoded(state, 10, 0.01)  # 1000 tok/s observed
        est.first_token(state, 100, 0.5)  # 200 tok/s prefill
    assert state.decode_tokens_per_s == 50.0
    assert state.prefill_tokens_per_s == pytest.approx(200.0)
    stranger = EngineState("other", frozenset({"llm"}), frozenset())
    est.decoded(stranger, 10, 0.01)
    assert stranger.decode_tokens_per_s == 0.0
    est.forget("e0")
    est.first_token(state, 100, 5.0)
    assert state.prefill_tokens_per_s == pytest.approx(200.0)


def test_short_prompts_say_nothing_about_prefill() -> None:
    state = _state()
    est = SpeedEstimator(min_samples=1, min_prompt_tokens=8)
    est.register(state)
    est.first_token(state, 3, 0.05)
    assert state.prefill_tokens_per_s == 0.0


def test_non_streamed_completion_gives_decode_once_prefill_is_known() -> None:
    state = _state()
    est = SpeedEstimator(min_samples=1)
    est.register(state)
    body = (
        b'{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens": 50,"total_tokens":150}}'
    )
    est.completed(state, 100, body, 1.5)
    assert state.decode_tokens_per_s == 0.0  # prefill unknown: cannot split the time
    est.first_token(state, 100, 0.5)  # 200 tok/s
    est.completed(state, 100, body, 1.5)  # 1.0 s of decode for 50 tokens
    assert state.decode_tokens_per_s == pytest.approx(50.0)


def test_cheap_parsers() -> None:
    assert completion_tokens(b'{"usage":{"completion_tokens":17}}') == 17
    assert completion_tokens(b'{"usage":{"prompt_tokens":3}}') == 0
    assert completion_tokens(b"") == 0
    chunk = b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'
    assert token_events(chunk) == 2
    assert token_events(b": keep-alive\n\n") == 0


def test_stream_clock_times_tokens_after_the_role_event() -> None:
    state = _state()
    est = SpeedEstimator(min_samples=1)
    est.register(state)
    clock = _StreamClock(time.perf_counter() - 0.5)  # the call went out 0.5 s ago
    clock.saw(b'data: {"role"}\n\n')  # role only: no token yet
    assert not clock.first_at
    clock.saw(b'data: {"t":0}\n\n')  # first token: TTFT ~0.5 s
    assert clock.first_at
    for i in range(1, 10):
        clock.saw(f'data: {{"t":{i}}}\n\n'.encode())
    clock.saw(b'data: {"t":10}\n\ndata: {"finish"}\n\ndata: {"usage"}\n\ndata: [DONE]\n\n')
    endpoint = EngineEndpoint("http://127.0.0.1:1", state)
    clock.report(est, endpoint, prompt_tokens=100, end=clock.first_at + 0.1)  # 10 gaps
    assert state.prefill_tokens_per_s == pytest.approx(200.0, rel=0.2)
    assert state.decode_tokens_per_s == pytest.approx(100.0)


def test_prefill_counts_only_the_tokens_the_engine_evaluated() -> None:
    """A prefix-cache hit evaluates only the prompt's tail: timing its first token over the
    whole prompt would make the engine look many times faster than a cold prefill is."""
    request = Request(id="r", kind=RequestKind.CHAT, model="m", prompt_tokens=620)
    assert prefilled_tokens(request) == 620  # the engine said nothing: the estimate
    request.reply_cache = (540, 600)  # usage: 540 of its 600 prompt tokens reused
    assert prefilled_tokens(request) == 60
    state = _state()
    est = SpeedEstimator(min_samples=1)
    est.register(state)
    est.first_token(state, prefilled_tokens(request), 0.3)  # 60 tokens in 0.3 s
    assert state.prefill_tokens_per_s == pytest.approx(200.0)
