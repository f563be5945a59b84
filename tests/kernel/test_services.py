"""Services: sync and async calls, errors, and pipeline-as-service."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from sage.common.errors import JobFailedError
from sage.kernel import BaseService, MapFunction, PipelineService
from tests.fixtures.kernel import EnvFactory


class Lexicon(BaseService):
    def __init__(self, words: dict[str, int], default: int = -1) -> None:
        self.words = words
        self.default = default
        self.opened = False

    def open(self) -> None:
        self.opened = True

    def process(self, word: str) -> int:
        assert self.opened
        return self.words.get(word, self.default)

    def size(self) -> int:
        return len(self.words)


class Lookup(MapFunction):
    def execute(self, data: str) -> tuple[str, int, int]:
        return (data, self.call_service("lexicon", data, timeout=10),
                self.call_service("lexicon", method="size"))


class AsyncLookup(MapFunction):
    def execute(self, data: list[str]) -> list[int]:
        futures = [self.call_service_async("lexicon", w) for w in data]
        assert all(isinstance(f, Future) for f in futures)
        return [f.result(timeout=10) for f in futures]


def test_sync_service_call_with_method(make_env: EnvFactory) -> None:
    env = make_env("svc")
    env.register_service("lexicon", Lexicon, {"a": 1, "b": 2}, default=0)
    out = make_env.collect(env.from_batch(["a", "b", "z"], parallelism=2).map(Lookup,
                                                                               parallelism=2))
    env.submit()
    assert sorted(out.items) == [("a", 1, 2), ("b", 2, 2), ("z", 0, 2)]


def test_async_service_calls(make_env: EnvFactory) -> None:
    env = make_env("svc-async")
    env.register_service("lexicon", Lexicon, {"x": 10, "y": 20})
    out = make_env.collect(env.from_batch([["x", "y"], ["y", "q"]]).map(AsyncLookup))
    env.submit()
    assert sorted(out.items) == [[10, 20], [20, -1]]


def test_unknown_service_fails_job(make_env: EnvFactory) -> None:
    env = make_env("svc-missing")
    env.from_batch(["a"]).map(Lookup, name="lookup").sink(lambda x: None)
    with pytest.raises(JobFailedError, match="lexicon"):
        env.submit()


def _enrich(stream: Any) -> Any:
    """The pipeline behind the service: tokenize, drop short words, measure."""
    return stream.flatmap(lambda s: s.split()).filter(lambda w: len(w) > 2).map(
        lambda w: (w, len(w)))


class AskPipeline(MapFunction):
    def execute(self, data: str) -> Any:
        return sorted(self.call_service("enrich", data.split("|")))


def test_pipeline_as_service(make_env: EnvFactory) -> None:
    env = make_env("pipeline-svc")
    env.register_service("enrich", PipelineService, _enrich, single=False)
    out = make_env.collect(env.from_batch(["the quick|brown fox", "a bb|ccc"]).map(AskPipeline))
    env.submit()
    assert sorted(out.items) == [[("brown", 5), ("fox", 3), ("quick", 5), ("the", 3)],
                                 [("ccc", 3)]]


class WrappedEnvService(BaseService):
    """The hand-written pattern: a service that runs its own environment per call."""

    def process(self, numbers: list[int]) -> int:
        from sage.kernel import LocalEnvironment

        inner = LocalEnvironment("inner")
        total: list[int] = []
        inner.from_batch(numbers).map(lambda x: x * x).sink(total.append)
        inner.submit()
        return sum(total)


def test_service_wrapping_another_environment(make_env: EnvFactory) -> None:
    env = make_env("wrapped")
    env.register_service("sumsq", WrappedEnvService)
    out = make_env.collect(env.from_batch([[1, 2], [3]]).map(
        lambda xs: xs))
    sums = make_env.collect(env.from_batch([[1, 2], [3]]).map(_SumSq))
    env.submit()
    assert sorted(sums.items) == [5, 9]
    assert len(out.items) == 2


class _SumSq(MapFunction):
    def execute(self, data: list[int]) -> int:
        return self.call_service("sumsq", data)


class BrokenService(BaseService):
    def open(self) -> None:
        raise RuntimeError("model file missing")


def test_service_failing_to_open_fails_the_job(make_env: EnvFactory) -> None:
    env = make_env("svc-broken")
    env.register_service("ok", Lexicon, {})
    env.register_service("broken", BrokenService)
    env.from_batch([1]).sink(lambda x: None)
    with pytest.raises(JobFailedError, match="model file missing") as info:
        env.submit()
    assert info.value.operator == "service:broken"


def test_plain_object_and_function_services(make_env: EnvFactory) -> None:
    env = make_env("svc-objects")
    env.register_service("double", lambda x: 2 * x)
    env.register_service("lexicon", Lexicon({"k": 7}))
    out = make_env.collect(env.from_batch(["k"]).map(_UseBoth))
    env.submit()
    assert out.items == [(14, 7)]


class _UseBoth(MapFunction):
    def execute(self, data: str) -> tuple[int, int]:
        return self.call_service("double", 7), self.call_service("lexicon", data)


def test_service_resources_are_an_option_not_a_constructor_argument(
        make_env: EnvFactory) -> None:
    """The same registration runs on both runtimes: Ray places by it, local records it."""
    env = make_env("svc-resources")
    env.register_service("lexicon", Lexicon, {"a": 1}, default=0,
                         resources={"cpu_node": 1})
    out = make_env.collect(env.from_batch(["a", "b"]).map(Lookup))
    env.submit()
    assert sorted(out.items) == [("a", 1, 1), ("b", 0, 1)]
    assert env._services["lexicon"].resources == {"cpu_node": 1}
