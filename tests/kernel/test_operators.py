"""One test (or a few) per operator of the DataStream API."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from sage.common.errors import ConfigError
from sage.kernel import (
    BatchFunction,
    CoMapFunction,
    FilterFunction,
    FlatMapFunction,
    JoinFunction,
    KeyByFunction,
    MapFunction,
)
from tests.fixtures.kernel import EnvFactory


class AddN(MapFunction):
    def __init__(self, n: int, scale: int = 1) -> None:
        self.n = n
        self.scale = scale

    def execute(self, data: int) -> int:
        return (data + self.n) * self.scale


class IsEven(FilterFunction):
    def execute(self, data: int) -> bool:
        return data % 2 == 0


class SplitWords(FlatMapFunction):
    def execute(self, data: str) -> list[str]:
        return data.split()


class CollectingSplit(FlatMapFunction):
    """Uses ``self.collect`` and flushes a tail record from ``close``."""

    def open(self) -> None:
        self.seen = 0

    def execute(self, data: str) -> None:
        for w in data.split():
            self.collect(w.upper())
        self.seen += 1

    def close(self) -> None:
        self.collect(f"#seen={self.seen}")


class Countdown(BatchFunction):
    def __init__(self, n: int) -> None:
        self.n = n

    def execute(self) -> int | None:
        if self.n <= 0:
            return None
        self.n -= 1
        return self.n


class WhoAmI(MapFunction):
    def open(self) -> None:
        self.tag = (self.ctx.task_name, self.ctx.index, self.ctx.parallelism)

    def execute(self, data: Any) -> Any:
        return (data, self.ctx.index, self.ctx.parallelism, self.ctx.current_key)


class OpenContext(MapFunction):
    """Reports what ``self.ctx`` held in ``open()`` (before any record)."""

    def open(self) -> None:
        ctx = self.ctx
        ctx.logger.debug("opening %s", ctx.task_name)
        self.seen_in_open = (ctx.job_name, ctx.operator_name, ctx.task_name, ctx.index,
                             ctx.parallelism, ctx.logger.name)

    def execute(self, data: Any) -> Any:
        return self.seen_in_open


class Numbered(MapFunction):
    """Own state per parallel instance, built from the operator's constructor args."""

    def __init__(self, prefix: str, start: int = 0) -> None:
        self.prefix = prefix
        self.next = start

    def execute(self, data: Any) -> tuple[str, int, int]:
        self.next += 1
        return (self.prefix, self.ctx.index, self.next)


class FirstLetter(KeyByFunction):
    def execute(self, data: str) -> str:
        return data[0]


def test_map_filter_with_class_args(make_env: EnvFactory) -> None:
    env = make_env("map")
    out = make_env.collect(env.from_batch(range(10)).map(AddN, 1, scale=2).filter(IsEven))
    env.submit()
    assert sorted(out.items) == sorted((x + 1) * 2 for x in range(10))


def test_lambdas_and_plain_callables(make_env: EnvFactory) -> None:
    def square(x: int) -> int:
        return x * x

    env = make_env("lambda")
    stream = env.from_batch([1, 2, 3]).map(square).filter(lambda x: x > 1).map(lambda x: -x)
    out = make_env.collect(stream)
    env.submit()
    assert sorted(out.items) == [-9, -4]


def test_flatmap_iterable_and_collect(make_env: EnvFactory) -> None:
    env = make_env("flatmap")
    lines = ["a b", "c", "", "d e f"]
    out1 = make_env.collect(env.from_batch(lines).flatmap(SplitWords))
    out2 = make_env.collect(env.from_batch(lines).flatmap(CollectingSplit))
    env.submit()
    assert sorted(out1.items) == ["a", "b", "c", "d", "e", "f"]
    assert sorted(out2.items) == ["#seen=4", "A", "B", "C", "D", "E", "F"]


def test_batch_function_source_and_from_collection(make_env: EnvFactory) -> None:
    env = make_env("batch")
    out1 = make_env.collect(env.from_batch(Countdown, 5))
    out2 = make_env.collect(env.from_collection(x for x in "xyz"))
    env.submit()
    assert sorted(out1.items) == [0, 1, 2, 3, 4]
    assert sorted(out2.items) == ["x", "y", "z"]


def test_parallel_instances_get_context_and_own_args(make_env: EnvFactory) -> None:
    env = make_env("ctx")
    stream = env.from_batch(range(40), parallelism=2).map(WhoAmI, parallelism=4)
    out = make_env.collect(stream)
    env.submit()
    items = out.items
    assert sorted(x for x, *_ in items) == list(range(40))
    assert {p for _, _, p, _ in items} == {4}
    assert {i for _, i, _, _ in items} <= {0, 1, 2, 3}


def test_context_is_set_before_open(make_env: EnvFactory) -> None:
    env = make_env("ctx-open")
    out = make_env.collect(env.from_batch(range(30)).map(OpenContext, parallelism=3,
                                                         name="opener"))
    env.submit()
    seen = set(out.items)
    assert {s[3] for s in seen} <= {0, 1, 2} and len(seen) >= 1
    for job, op, task, index, par, logger in seen:
        assert (job, op, par) == ("ctx-open", "opener", 3)
        assert task == f"opener[{index}]"
        assert logger.startswith("sage.") and "opener" in logger


def test_constructor_args_build_one_instance_per_parallel_task(make_env: EnvFactory) -> None:
    env = make_env("ctor", config={"batch_size": 4})
    by_class = make_env.collect(env.from_batch(range(60)).map(Numbered, "c", start=100,
                                                             parallelism=3))
    by_instance = make_env.collect(env.from_batch(range(60)).map(Numbered("i", 0),
                                                                parallelism=3))
    env.submit()
    for out, prefix, start in ((by_class, "c", 100), (by_instance, "i", 0)):
        items = out.items
        assert len(items) == 60 and {p for p, _, _ in items} == {prefix}
        per_instance: dict[int, list[int]] = {}
        for _, index, n in items:
            per_instance.setdefault(index, []).append(n)
        # each instance counts its own records from the constructor's start: no shared state
        for counts in per_instance.values():
            assert sorted(counts) == list(range(start + 1, start + 1 + len(counts)))
        assert sum(len(c) for c in per_instance.values()) == 60


def test_keyby_same_key_same_instance_and_current_key(make_env: EnvFactory) -> None:
    env = make_env("keyby", config={"batch_size": 7})
    words = [f"{c}{i}" for i in range(30) for c in "abcdefg"]
    stream = env.from_batch(words, parallelism=2).keyby(FirstLetter).map(WhoAmI, parallelism=3)
    out = make_env.collect(stream)
    env.submit()
    instance_of: dict[str, set[int]] = {}
    for word, index, _, key in out.items:
        assert key == word[0]
        instance_of.setdefault(key, set()).add(index)
    assert all(len(v) == 1 for v in instance_of.values())
    assert sum(1 for _ in out.items) == len(words)


def test_keyby_lambda_and_broadcast_and_round_robin(make_env: EnvFactory) -> None:
    env = make_env("strategies")
    src = env.from_batch(range(12))
    bcast = make_env.collect(src.keyby(lambda x: x, strategy="broadcast").map(WhoAmI,
                                                                                 parallelism=3))
    rr = make_env.collect(src.keyby(None, strategy="round_robin").map(WhoAmI, parallelism=3))
    env.submit()
    assert Counter(x for x, *_ in bcast.items) == Counter({x: 3 for x in range(12)})
    assert sorted(x for x, *_ in rr.items) == list(range(12))


def test_print_sink(make_env: EnvFactory, capfd: pytest.CaptureFixture[str]) -> None:
    env = make_env("print")
    env.from_batch(["hello", "world"]).print("> ")
    env.from_batch(["again"]).print()
    env.submit()
    if make_env.runtime == "local":
        assert "> hello" in capfd.readouterr().out


class Tagger(CoMapFunction):
    def map0(self, data: Any) -> Any:
        return ("left", data)

    def map1(self, data: Any) -> Any:
        return ("right", data)

    def map2(self, data: Any) -> Any:
        return ("third", data)


def test_connect_comap_three_inputs(make_env: EnvFactory) -> None:
    env = make_env("comap")
    a, b, c = env.from_batch([1, 2]), env.from_batch(["x"]), env.from_batch([None, 0.5, 7])
    out = make_env.collect(a.connect(b).connect(c).comap(Tagger, parallelism=2))
    env.submit()
    assert sorted(out.items, key=repr) == sorted(
        [("left", 1), ("left", 2), ("right", "x"), ("third", None), ("third", 0.5),
         ("third", 7)], key=repr)


def test_connected_map_is_union(make_env: EnvFactory) -> None:
    env = make_env("union")
    a, b = env.from_batch(range(5)), env.from_batch(range(100, 103), parallelism=2)
    out = make_env.collect(a.connect(b).map(lambda x: x * 10))
    env.submit()
    assert sorted(out.items) == [x * 10 for x in [*range(5), *range(100, 103)]]


def test_connected_keyby_one_selector_for_every_input(make_env: EnvFactory) -> None:
    env = make_env("co-keyby", config={"batch_size": 3})
    a = env.from_batch([f"{c}{i}" for c in "abcd" for i in range(5)])
    b = env.from_batch([f"{c}!" for c in "abcdef"], parallelism=2)
    out = make_env.collect(a.connect(b).keyby(FirstLetter).map(WhoAmI, parallelism=3))
    env.submit()
    items = out.items
    assert len(items) == 20 + 6
    instance_of: dict[str, set[int]] = {}
    for word, index, _, key in items:
        assert key == word[0]
        instance_of.setdefault(key, set()).add(index)
    assert all(len(v) == 1 for v in instance_of.values())  # both inputs agree per key


class Orders(JoinFunction):
    def merge(self, left: Any, right: Any, key: Any) -> Any:
        return (key, left[1], right[1])


def test_keyed_join_default_inner_join(make_env: EnvFactory) -> None:
    env = make_env("join", config={"batch_size": 3})
    users = env.from_batch([(i, f"user{i}") for i in range(10)])
    orders = env.from_batch([(i % 5, f"order{i}") for i in range(20)], parallelism=2)
    joined = users.connect(orders).keyby([lambda r: r[0], lambda r: r[0]]).join(
        Orders, parallelism=3)
    out = make_env.collect(joined)
    env.submit()
    expected = sorted((i % 5, f"user{i % 5}", f"order{i}") for i in range(20))
    assert sorted(out.items) == expected


def test_join_requires_keyed_inputs(make_env: EnvFactory) -> None:
    env = make_env("badjoin")
    a, b = env.from_batch([1]), env.from_batch([2])
    a.connect(b).join(Orders).sink(lambda x: None)
    with pytest.raises(ConfigError, match="keyed"):
        env.submit()


def test_custom_join_execute_with_tags(make_env: EnvFactory) -> None:
    class Tags(JoinFunction):
        def execute(self, payload: Any, key: Any, tag: int) -> list[Any]:
            return [(tag, key, payload)]

    env = make_env("tags")
    a, b = env.from_batch(["aa", "bb"]), env.from_batch(["ab"])
    out = make_env.collect(a.keyby(FirstLetter).connect(b.keyby(FirstLetter)).join(Tags))
    env.submit()
    assert sorted(out.items) == [(0, "a", "aa"), (0, "b", "bb"), (1, "a", "ab")]


def test_invalid_definitions_raise_config_error(make_env: EnvFactory) -> None:
    env = make_env("bad")
    with pytest.raises(ConfigError):
        env.from_batch("not a list of records")
    with pytest.raises(ConfigError):
        env.from_batch([1]).map(lambda x: x, parallelism=0)
    with pytest.raises(ConfigError):
        env.from_batch([1]).keyby(None)
    with pytest.raises(ConfigError):
        env.from_batch([1]).map(lambda x: x, error_policy="explode")


def test_metrics_count_records_per_operator(make_env: EnvFactory) -> None:
    env = make_env("metrics")
    env.from_batch(range(100)).map(AddN, 0, name="ident").filter(IsEven, name="even").sink(
        lambda x: None, name="drop")
    metrics = env.submit()
    assert metrics is not None and metrics.status == "finished"
    assert metrics["ident"].records_in == 100
    assert metrics["even"].records_out == 50
    assert env.metrics()["drop"].records_in == 50
    assert metrics.to_dict()["operators"]["even"]["records_in"] == 100


def test_keyed_records_keep_their_order_per_key(make_env: EnvFactory) -> None:
    env = make_env("order", config={"batch_size": 5})
    records = [(i % 7, i) for i in range(700)]
    out = make_env.collect(env.from_batch(records).keyby(lambda r: r[0]).map(
        lambda r: r, parallelism=3), parallelism=3)
    env.submit()
    items = out.items  # one instance per key, so each key's records arrive in order
    for key in {k for k, _ in items}:
        seq = [i for k, i in items if k == key]
        assert seq == sorted(seq)
    assert len(items) == 700
