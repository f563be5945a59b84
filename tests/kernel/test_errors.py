"""Error policies: fail (JobFailedError with operator and traceback), skip, dead_letter."""

from __future__ import annotations

from typing import Any

import pytest

from sage.common.errors import ConfigError, JobFailedError
from sage.kernel import DeadLetter, ErrorPolicy, MapFunction, SinkFunction
from tests.fixtures.kernel import EnvFactory


class Fragile(MapFunction):
    """Raises on multiples of 7."""

    def execute(self, data: int) -> int:
        if data % 7 == 0:
            raise ValueError(f"cannot handle {data}")
        return data


class BadOpen(SinkFunction):
    def open(self) -> None:
        raise RuntimeError("no connection")

    def execute(self, data: Any) -> None:
        pass


def test_fail_policy_raises_job_failed_with_operator_and_traceback(
        make_env: EnvFactory) -> None:
    env = make_env("fail")
    env.from_batch(range(1, 100)).map(Fragile, name="fragile").sink(lambda x: None)
    with pytest.raises(JobFailedError) as info:
        env.submit()
    assert info.value.operator == "fragile"
    assert "cannot handle 7" in str(info.value)
    assert "Traceback" in info.value.traceback_text
    assert "Fragile" in info.value.traceback_text or "execute" in info.value.traceback_text
    assert env.metrics().status == "failed"


def test_fail_in_parallel_job_does_not_hang(make_env: EnvFactory) -> None:
    env = make_env("fail-par", config={"batch_size": 8, "channel_capacity": 2})
    env.from_batch(range(1, 5000), parallelism=2).map(Fragile, parallelism=2).keyby(
        lambda x: x % 3).map(lambda x: x, parallelism=2).sink(lambda x: None)
    with pytest.raises(JobFailedError, match="Fragile"):
        env.submit()


def test_failure_in_open_fails_the_job(make_env: EnvFactory) -> None:
    env = make_env("open")
    env.from_batch([1, 2]).sink(BadOpen)
    with pytest.raises(JobFailedError, match="no connection"):
        env.submit()


def test_skip_policy_counts_skipped_records(make_env: EnvFactory) -> None:
    env = make_env("skip")
    out = make_env.collect(
        env.from_batch(range(1, 71)).map(Fragile, error_policy="skip", name="fragile"))
    metrics = env.submit()
    assert metrics is not None
    assert sorted(out.items) == [x for x in range(1, 71) if x % 7]
    assert metrics["fragile"].skipped == 10
    assert metrics.skipped == 10


def test_job_level_default_policy(make_env: EnvFactory) -> None:
    env = make_env("skip-default", config={"error_policy": "skip"})
    out = make_env.collect(env.from_batch(range(1, 15), parallelism=2).map(Fragile,
                                                                             parallelism=2))
    metrics = env.submit()
    assert metrics is not None and metrics.skipped == 2
    assert len(out.items) == 12


def test_dead_letter_policy_sends_record_and_error(make_env: EnvFactory) -> None:
    env = make_env("dlq")
    letters = make_env.collect(env.dead_letters("bad"))
    good = make_env.collect(
        env.from_batch(range(1, 30)).map(Fragile, name="fragile",
                                         error_policy=ErrorPolicy.to_dead_letter("bad"))
        .map(lambda x: x * 2, error_policy="dead_letter:bad"))
    metrics = env.submit()
    assert metrics is not None
    assert sorted(good.items) == [2 * x for x in range(1, 30) if x % 7]
    items = letters.items
    assert sorted(d.record for d in items) == [7, 14, 21, 28]
    assert all(isinstance(d, DeadLetter) and d.operator == "fragile" for d in items)
    assert all("ValueError" in d.error and "Traceback" in d.traceback for d in items)
    assert metrics["fragile"].dead_lettered == 4


def test_dead_letter_without_stream_is_a_config_error(make_env: EnvFactory) -> None:
    env = make_env("dlq-missing")
    env.from_batch([1]).map(Fragile, error_policy="dead_letter:nowhere").sink(lambda x: None)
    with pytest.raises(ConfigError, match="nowhere"):
        env.submit()


def test_job_wide_dead_letter_default_does_not_loop(make_env: EnvFactory) -> None:
    env = make_env("dlq-default", config={"error_policy": "dead_letter:errors"})
    letters = make_env.collect(env.dead_letters("errors").map(lambda d: d.record))
    env.from_batch(range(1, 15)).map(Fragile).sink(lambda x: None)
    metrics = env.submit()
    assert metrics is not None and metrics.dead_lettered == 2
    assert sorted(letters.items) == [7, 14]


def test_failing_key_selector_names_the_keyby(make_env: EnvFactory) -> None:
    env = make_env("bad-key")
    env.from_batch([{"k": 1}, {}]).keyby(lambda r: r["k"]).map(
        lambda r: r, parallelism=2, name="after").sink(lambda x: None)
    with pytest.raises(JobFailedError, match="KeyError") as info:
        env.submit()
    assert "keyby" in info.value.operator
