"""End-of-stream is counted per input channel: multi-input nodes end only after all
inputs have ended, whatever their lengths and parallelism."""

from __future__ import annotations

from typing import Any

import pytest

from sage.kernel import CoMapFunction, JoinFunction, SinkFunction
from tests.fixtures.kernel import EnvFactory


class Both(CoMapFunction):
    def map0(self, data: Any) -> Any:
        return ("a", data)

    def map1(self, data: Any) -> Any:
        return ("b", data)


class CountOnClose(SinkFunction):
    """Writes (records, closed) into a service so the test can see close happened."""

    def open(self) -> None:
        self.n = 0

    def execute(self, data: Any) -> None:
        self.n += 1

    def close(self) -> None:
        self.call_service("ledger", self.n)


class Ledger:
    def __init__(self) -> None:
        self.closed: list[int] = []

    def process(self, n: int) -> None:
        self.closed.append(n)


@pytest.mark.parametrize("sizes", [(0, 5), (1, 1000), (1000, 3), (7, 0)])
@pytest.mark.parametrize("par", [(1, 1, 1), (2, 1, 3), (1, 3, 2)])
def test_comap_unequal_inputs(make_env: EnvFactory, sizes: tuple[int, int],
                              par: tuple[int, int, int]) -> None:
    env = make_env("comap", config={"batch_size": 16, "channel_capacity": 2})
    a = env.from_batch(list(range(sizes[0])), parallelism=par[0])
    b = env.from_batch(list(range(sizes[1])), parallelism=par[1])
    out = make_env.collect(a.connect(b).comap(Both, parallelism=par[2]))
    env.submit()
    items = out.items
    assert sorted(x for t, x in items if t == "a") == list(range(sizes[0]))
    assert sorted(x for t, x in items if t == "b") == list(range(sizes[1]))


@pytest.mark.parametrize("sizes", [(3, 500), (500, 3), (0, 10)])
def test_join_unequal_inputs(make_env: EnvFactory, sizes: tuple[int, int]) -> None:
    env = make_env("join", config={"batch_size": 8})
    left = env.from_batch([(i, "L") for i in range(sizes[0])], parallelism=2)
    right = env.from_batch([(i % 10, "R") for i in range(sizes[1])])
    out = make_env.collect(
        left.keyby(lambda r: r[0]).connect(right.keyby(lambda r: r[0])).join(
            JoinFunction, parallelism=2))
    env.submit()
    expected = sum(1 for i in range(sizes[1]) if i % 10 < sizes[0])
    assert len(out.items) == expected


def test_fan_in_sink_closes_once_after_all_inputs(make_env: EnvFactory) -> None:
    if make_env.runtime != "local":
        pytest.skip("reads the service object in process")
    env = make_env("fanin", config={"batch_size": 4})
    ledger = Ledger()
    env.register_service("ledger", ledger)
    a = env.from_batch(range(10), parallelism=3)
    b = env.from_batch(range(1000), parallelism=2)
    a.connect(b).map(lambda x: x, parallelism=2).sink(CountOnClose)
    env.submit()
    assert sum(ledger.closed) == 1010
    assert len(ledger.closed) == 1  # one sink instance, closed exactly once


def test_diamond_joins_both_branches(make_env: EnvFactory) -> None:
    env = make_env("diamond", config={"batch_size": 5, "channel_capacity": 1})
    src = env.from_batch(range(300))
    left = src.map(lambda x: ("l", x), parallelism=2)
    right = src.filter(lambda x: x % 3 == 0)
    out = make_env.collect(left.connect(right).map(lambda x: x))
    env.submit()
    assert len(out.items) == 300 + 100
