"""The API's one-name-per-call rule, typed kinds and error roots: deprecated aliases
warn, operator kinds are registered objects, ``env.collect`` and ``map_batches`` behave
on the local runtime (the parametrised tests cover Ray through ``make_env.collect``)."""

from __future__ import annotations

import pickle

import pytest

from sage.common.errors import ConfigError, SageError
from sage.kernel import LocalEnvironment
from sage.kernel.graph import OperatorSpec
from sage.kernel.kinds import MAP, OPERATOR_KINDS
from sage.kernel.runtime.runners import OperatorError


def test_deprecated_aliases_warn_and_still_work() -> None:
    env = LocalEnvironment("aliases")
    with pytest.deprecated_call():
        out = env.collect(env.from_collection([1, 2]))
    env.submit()
    assert out == [1, 2]
    with pytest.deprecated_call():
        env.close()
    with pytest.deprecated_call():
        from sage.kernel.scheduler import SchedulerPolicy
    from sage.kernel.scheduler import PlacementPolicy

    assert SchedulerPolicy is PlacementPolicy


def test_kinds_are_registered_singletons() -> None:
    assert OPERATOR_KINDS.get("map") is MAP
    assert pickle.loads(pickle.dumps(MAP)) is MAP
    assert OperatorSpec("x", "map", None).kind is MAP  # a name is accepted
    with pytest.raises(ConfigError, match="unknown operator kind 'mapp'; available: "):
        OperatorSpec("x", "mapp", None)


def test_errors_share_one_root() -> None:
    assert issubclass(OperatorError, SageError)
    assert issubclass(ConfigError, ValueError)  # callers that caught ValueError keep working


def test_collect_calls_on_record_as_records_arrive() -> None:
    env = LocalEnvironment("collect")
    seen: list[int] = []
    out = env.collect(env.from_batch(range(5)).map(lambda x: x * 2), seen.append)
    env.submit()
    assert out == seen == [0, 2, 4, 6, 8]


def test_map_batches_gets_micro_batches_and_skips_a_failing_batch() -> None:
    env = LocalEnvironment("batches", config={"batch_size": 4})
    sizes: list[int] = []

    def double(batch: list[int]) -> list[int]:
        sizes.append(len(batch))
        if 9 in batch:
            raise ValueError("no nines")
        return [x * 2 for x in batch]

    out = env.collect(env.from_batch(range(10)).map_batches(double, error_policy="skip"))
    metrics = env.submit()
    assert sizes == [4, 4, 2]
    assert out == [x * 2 for x in range(8)]
    assert metrics is not None and metrics.skipped == 2


def test_map_batches_prefers_execute_batch() -> None:
    from sage.kernel import MapFunction

    class Upper(MapFunction):
        def execute(self, data: str) -> str:
            return f"one:{data.upper()}"

        def execute_batch(self, batch: list[str]) -> list[str]:
            return [f"batch{len(batch)}:{x.upper()}" for x in batch]

    env = LocalEnvironment("prefer")
    per_batch = env.collect(env.from_batch(["a", "b"]).map_batches(Upper))
    per_record = env.collect(env.from_batch(["c"]).map(Upper))
    env.submit()
    assert per_batch == ["batch2:A", "batch2:B"] and per_record == ["one:C"]
