"""Property: for random pipelines with random parallelism, batch size and channel
capacity, every record arrives exactly once (the output multiset equals a sequential
reference evaluation).

Each property runs ``SAGE_PROPERTY_EXAMPLES`` (30) examples on the local runtime and
``SAGE_RAY_PROPERTY_EXAMPLES`` (4) on Ray, where every example is a whole Ray job (one
actor process per task); set the latter higher for a deeper Ray run.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.kernel import RUNTIMES, EnvFactory

OPS = st.sampled_from(["map", "filter", "flatmap", "keyby", "broadcast1", "union"])
LOCAL_EXAMPLES = int(os.environ.get("SAGE_PROPERTY_EXAMPLES", "30"))
RAY_EXAMPLES = int(os.environ.get("SAGE_RAY_PROPERTY_EXAMPLES", "4"))

PIPELINES = {
    "data": st.lists(st.integers(-50, 50), max_size=60),
    "extra": st.lists(st.integers(-50, 50), max_size=20),
    "ops": st.lists(st.tuples(OPS, st.integers(0, 5), st.integers(1, 3)), max_size=5),
    "src_par": st.integers(1, 3),
    "sink_par": st.integers(1, 2),
    "batch_size": st.integers(1, 8),
    "capacity": st.integers(1, 3),
    "chaining": st.booleans(),
}
LOOPS = {
    "laps": st.lists(st.integers(0, 6), max_size=40),
    "src_par": st.integers(1, 2),
    "step_par": st.integers(1, 3),
    "back_par": st.integers(1, 3),
    "batch_size": st.integers(1, 6),
    "capacity": st.integers(1, 2),
}


def _apply(kind: str, arg: int, records: list[int]) -> list[int]:
    if kind == "map" or kind == "keyby":
        return [r * 3 + arg for r in records]
    if kind == "filter":
        return [r for r in records if r % (arg + 2)]
    if kind == "flatmap":
        return [x for r in records for x in ([r, -r] if r % 2 else [])]
    if kind == "broadcast1":  # broadcast into a single instance: identity
        return list(records)
    return records  # union handled by the caller


def check_pipeline(make_env: EnvFactory, data: list[int], extra: list[int],
                   ops: list[tuple[str, int, int]], src_par: int, sink_par: int,
                   batch_size: int, capacity: int, chaining: bool) -> None:
    env = make_env("prop", config={"batch_size": batch_size, "channel_capacity": capacity,
                                   "chaining": chaining})
    stream: Any = env.from_batch(list(data), parallelism=src_par)
    expected = list(data)
    for kind, arg, par in ops:
        if kind == "map":
            stream = stream.map(lambda r, a=arg: r * 3 + a, parallelism=par)
        elif kind == "filter":
            stream = stream.filter(lambda r, a=arg: r % (a + 2), parallelism=par)
        elif kind == "flatmap":
            stream = stream.flatmap(lambda r: [r, -r] if r % 2 else [], parallelism=par)
        elif kind == "keyby":
            stream = stream.keyby(lambda r: r % 4).map(lambda r, a=arg: r * 3 + a,
                                                       parallelism=par)
        elif kind == "broadcast1":
            stream = stream.keyby(None, strategy="broadcast").map(lambda r: r)
        else:
            other = env.from_batch(list(extra), parallelism=par)
            stream = stream.connect(other).map(lambda r: r, parallelism=par)
            expected = expected + list(extra)
            continue
        expected = _apply(kind, arg, expected)
    out = make_env.collect(stream, parallelism=sink_par)
    env.submit()
    assert Counter(out.items) == Counter(expected)


def check_loop(make_env: EnvFactory, laps: list[int], src_par: int, step_par: int,
               back_par: int, batch_size: int, capacity: int) -> None:
    """Record ``(id, n)`` goes around the loop ``n`` times, then leaves it exactly once."""
    env = make_env("loop-prop", config={"batch_size": batch_size, "channel_capacity": capacity})
    future = env.from_future("laps")
    records = [(i, n) for i, n in enumerate(laps)]
    step = env.from_batch(records, parallelism=src_par).connect(future).map(
        lambda r: (r[0], r[1] - 1), parallelism=step_par)
    step.filter(lambda r: r[1] > 0, parallelism=back_par).fill_future(future)
    out = make_env.collect(step.filter(lambda r: r[1] <= 0))
    env.submit()
    assert Counter(i for i, _ in out.items) == Counter(range(len(laps)))


@pytest.fixture
def local_make_env(tmp_path: Path) -> EnvFactory:
    return EnvFactory("local", tmp_path)


@pytest.fixture
def ray_make_env(ray_cluster: Any, tmp_path: Path) -> EnvFactory:
    if "ray" not in RUNTIMES:
        pytest.skip("SAGE_KERNEL_RUNTIMES excludes ray")
    return EnvFactory("ray", tmp_path)


def _settings(examples: int) -> Any:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@_settings(LOCAL_EXAMPLES)
@given(**PIPELINES)
def test_random_pipelines_deliver_exactly_once(local_make_env: EnvFactory,
                                               **drawn: Any) -> None:
    check_pipeline(local_make_env, **drawn)


@_settings(LOCAL_EXAMPLES)
@given(**LOOPS)
def test_feedback_loops_deliver_exactly_once(local_make_env: EnvFactory,
                                             **drawn: Any) -> None:
    check_loop(local_make_env, **drawn)


@pytest.mark.ray
@_settings(RAY_EXAMPLES)
@given(**PIPELINES)
def test_random_pipelines_deliver_exactly_once_on_ray(ray_make_env: EnvFactory,
                                                      **drawn: Any) -> None:
    check_pipeline(ray_make_env, **drawn)


@pytest.mark.ray
@_settings(RAY_EXAMPLES)
@given(**LOOPS)
def test_feedback_loops_deliver_exactly_once_on_ray(ray_make_env: EnvFactory,
                                                    **drawn: Any) -> None:
    check_loop(ray_make_env, **drawn)
