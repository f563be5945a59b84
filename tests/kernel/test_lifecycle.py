"""Job life cycle: open/close order, stop from inside a job, resources in the plan,
source errors under each policy."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from sage.common.errors import JobFailedError
from sage.kernel import BatchFunction, LocalEnvironment, MapFunction, SinkFunction
from tests.fixtures.kernel import EnvFactory


class Flaky(BatchFunction):
    """Raises on every third pull."""

    def open(self) -> None:
        self.i = 0

    def execute(self) -> int | None:
        self.i += 1
        if self.i > 30:
            return None
        if self.i % 3 == 0:
            raise OSError(f"read {self.i} failed")
        return self.i


def test_source_errors_follow_the_policy(make_env: EnvFactory) -> None:
    env = make_env("src-skip")
    out = make_env.collect(env.from_batch(Flaky, error_policy="skip", name="flaky"))
    metrics = env.submit()
    assert metrics is not None and metrics["flaky"].skipped == 10
    assert sorted(out.items) == [i for i in range(1, 31) if i % 3]
    env2 = make_env("src-fail")
    env2.from_batch(Flaky, name="flaky").sink(lambda x: None)
    with pytest.raises(JobFailedError, match="read 3 failed") as info:
        env2.submit()
    assert info.value.operator == "flaky"


class Lifecycle(MapFunction):
    events: list[str] = []

    def open(self) -> None:
        Lifecycle.events.append(f"open:{self.ctx.operator_name}:{self.ctx.index}")
        self.ctx.logger.debug("opened")

    def execute(self, data: Any) -> Any:
        return data

    def close(self) -> None:
        Lifecycle.events.append(f"close:{self.ctx.operator_name}:{self.ctx.index}")


def test_open_and_close_once_per_instance() -> None:
    Lifecycle.events = []
    env = LocalEnvironment("life")
    env.from_batch(range(10)).map(Lifecycle, parallelism=3, name="life").sink(lambda x: None)
    env.submit()
    assert sorted(Lifecycle.events) == sorted(
        [f"{e}:life:{i}" for e in ("open", "close") for i in range(3)])


class StopAfter(SinkFunction):
    def __init__(self, env: LocalEnvironment, limit: int, seen: list[int]) -> None:
        self.env, self.limit, self.seen = env, limit, seen

    def execute(self, data: int) -> None:
        self.seen.append(data)
        if len(self.seen) == self.limit:
            self.env.stop()  # from inside the job: must not deadlock


def test_stop_from_inside_a_sink_on_infinite_iterable() -> None:
    seen: list[int] = []
    env = LocalEnvironment("self-stop", config={"batch_size": 10})
    env.from_source(itertools.count()).sink(StopAfter, env, 100, seen)
    env.submit(autostop=True)
    assert len(seen) >= 100
    assert seen == list(range(len(seen)))  # nothing lost or duplicated while draining
    assert env.metrics().status == "stopped"


def test_resources_are_recorded_in_the_plan(make_env: EnvFactory) -> None:
    env = make_env("res")
    env.from_batch([1, 2]).map(lambda x: x, resources={"num_cpus": 1, "num_gpus": 1},
                               name="gpu_map").sink(lambda x: None, name="s")
    env.submit()
    plan = env.plan
    assert plan is not None
    assert plan.stage_of("gpu_map").resources == {"num_cpus": 1, "num_gpus": 1}
    assert plan.stage_of("s") is not plan.stage_of("gpu_map")


def test_submit_without_autostop_then_wait() -> None:
    release = threading.Event()
    got: list[int] = []

    def gated(x: int) -> int:
        release.wait(30)
        return x

    env = LocalEnvironment("nowait")
    env.from_batch(range(5)).map(gated).sink(got.append)
    assert env.submit(autostop=False) is None
    assert env.wait(timeout=0.01) is False or got == list(range(5))
    release.set()
    assert env.wait(timeout=30) is True
    assert got == list(range(5))


class Doubler(MapFunction):
    def execute(self, data: int) -> int:
        return self.call_service("double", data)


def test_local_run_opens_no_port_and_leaves_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def no_network(self: socket.socket, *args: Any) -> None:
        raise AssertionError("a local run must not bind or listen on a socket")

    monkeypatch.setattr(socket.socket, "bind", no_network)
    monkeypatch.setattr(socket.socket, "listen", no_network)
    before = set(threading.enumerate())  # other tests' servers may share this process
    got: list[int] = []
    env = LocalEnvironment("no-daemon", config={"batch_size": 4})
    env.register_service("double", lambda x: 2 * x)
    env.from_batch(range(20), parallelism=2).map(Doubler, parallelism=2).sink(got.append)
    env.submit()
    assert sorted(got) == [2 * x for x in range(20)]
    leftovers = [t.name for t in set(threading.enumerate()) - before
                 if t.name.startswith("sage-")]
    assert leftovers == []
