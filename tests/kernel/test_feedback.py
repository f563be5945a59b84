"""Feedback loops with from_future/fill_future terminate without losing records."""

from __future__ import annotations

from typing import Any

import pytest

from sage.kernel import CoMapFunction
from tests.fixtures.kernel import EnvFactory


@pytest.mark.parametrize("par", [1, 2])
def test_counter_loop_until_threshold(make_env: EnvFactory, par: int) -> None:
    """Each number is incremented around the loop until it reaches 10."""
    env = make_env("loop", config={"batch_size": 4, "channel_capacity": 1})
    future = env.from_future("again")
    start = env.from_batch(list(range(12)), parallelism=par)
    step = start.connect(future).map(lambda x: x + 1, parallelism=par)
    step.filter(lambda x: x < 10, parallelism=par).fill_future(future)
    done = make_env.collect(step.filter(lambda x: x >= 10))
    env.submit()
    assert sorted(done.items) == [10] * 10 + [11, 12]


class Route(CoMapFunction):
    def map0(self, data: Any) -> Any:
        return ("new", data)

    def map1(self, data: Any) -> Any:
        return ("again", data)


def test_loop_with_comap_and_flatmap_expansion(make_env: EnvFactory) -> None:
    """A record splits in two until it is small: a tree expansion through the loop."""
    env = make_env("tree", config={"batch_size": 3})
    future = env.from_future("halves")
    tagged = env.from_batch([8, 3]).connect(future).comap(Route)
    values = tagged.map(lambda t: t[1])
    halves = values.flatmap(lambda x: [x // 2, x - x // 2] if x > 1 else [])
    halves.fill_future(future)
    leaves = make_env.collect(values.filter(lambda x: x == 1))
    env.submit()
    assert sorted(leaves.items) == [1] * 11


def test_unfilled_future_is_an_error(make_env: EnvFactory) -> None:
    from sage.common.errors import ConfigError

    env = make_env("unfilled")
    future = env.from_future("f")
    env.from_batch([1]).connect(future).map(lambda x: x).sink(lambda x: None)
    with pytest.raises(ConfigError, match="never filled"):
        env.submit()
