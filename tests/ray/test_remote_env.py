"""RemoteEnvironment specifics: bounded in-flight batches, stop of unbounded jobs."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sage.kernel import SinkFunction, SourceFunction

pytestmark = pytest.mark.ray


class Naturals(SourceFunction):
    def open(self) -> None:
        self.n = 0

    def execute(self) -> int:
        self.n += 1
        return self.n


class SlowSink(SinkFunction):
    def execute(self, data: int) -> None:
        sum(range(20_000))  # far slower than the source


def _ahead(env: Any, source: str, sink: str) -> int:
    """How far the source is ahead of the sink. The source is read first and the sink
    after it has answered, so a busy machine can only make the gap look smaller than it
    was, never larger: the bound below cannot fail because of scheduling delays."""
    import ray

    tasks = env._runtime.tasks
    produced = ray.get(tasks[source][2].metrics.remote())["naturals"].records_out
    consumed = ray.get(tasks[sink][2].metrics.remote())["slow"].records_in
    return int(produced - consumed)


def test_slow_sink_bounds_in_flight_and_stop_loses_nothing(ray_cluster: Any) -> None:
    from sage.kernel import RemoteEnvironment

    env = RemoteEnvironment("backpressure", config={"batch_size": 16, "chaining": False,
                                                    "max_inflight": 2})
    env.from_source(Naturals, name="naturals").map(lambda x: x, parallelism=2) \
        .sink(SlowSink, name="slow")
    env.submit(autostop=False)
    try:
        deadline = time.monotonic() + 60
        while env.metrics()["slow"].records_in < 500:  # driver-side check, not data path
            assert time.monotonic() < deadline, "the sink never got records"
            time.sleep(0.2)
        # the source is throttled: at most (inflight batches + one in hand) per hop ahead
        for _ in range(3):
            assert _ahead(env, "naturals[0]", "slow[0]") < 3 * 3 * 16 * 2 + 16 * 8
            time.sleep(0.2)
    finally:
        env.stop()
        assert env.wait(60)
    m = env.metrics()
    assert m.status == "stopped"
    assert m["naturals"].records_out == m["slow"].records_in  # drained, nothing lost
    assert m.channel_peaks and max(m.channel_peaks.values()) <= 2


def test_metrics_and_reuse_of_the_running_cluster(ray_cluster: Any) -> None:
    from sage.kernel import RemoteEnvironment

    nodes_before = len(ray_cluster.nodes())
    env = RemoteEnvironment("metrics")
    env.from_batch(list(range(100)), parallelism=2).map(lambda x: x + 1, name="inc") \
        .filter(lambda x: x % 2 == 0, name="even").sink(lambda x: None, name="sink")
    metrics = env.submit()
    assert metrics is not None and metrics.status == "finished"
    assert metrics["inc"].records_in == 100 and metrics["sink"].records_in == 50
    assert len(ray_cluster.nodes()) == nodes_before  # no second Ray was started


def test_address_none_starts_a_local_ray_sized_to_the_machine(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``None`` -> a new local Ray (not a ``ray start`` cluster found on the machine), with
    Ray's own CPU/GPU detection: SAGE passes no ``num_cpus``/``num_gpus``."""
    pytest.importorskip("ray")
    from sage.kernel.runtime.ray import cluster

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(cluster.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(cluster.ray, "init", lambda **kw: calls.append(kw))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    cluster.ensure_ray(None)
    assert calls[-1]["address"] == "local"
    assert not {"num_cpus", "num_gpus", "resources"} & set(calls[-1])
    cluster.ensure_ray("auto")
    assert calls[-1]["address"] == "auto"
    cluster.ensure_ray("ray://head:10001")
    assert calls[-1]["address"] == "ray://head:10001"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")  # a script running inside a Ray job
    cluster.ensure_ray(None)
    assert calls[-1]["address"] == "10.0.0.1:6379"


def test_unknown_scheduler_is_rejected_when_the_environment_is_built() -> None:
    pytest.importorskip("ray")
    from sage.common.errors import ConfigError
    from sage.kernel import RemoteEnvironment

    with pytest.raises(ConfigError, match="unknown scheduler"):
        RemoteEnvironment("bad-policy", scheduler="fastest")


def test_cpu_benchmark_job_reports_its_start_up(ray_cluster: Any) -> None:
    from sage.benchmark.dataflow_ray import run_cpu_job

    metrics = run_cpu_job("ray", records=6, parallelism=2, rounds=10)
    assert metrics["count"].records_in == 6
    assert 0 < metrics.startup_s <= metrics.duration_s
    assert len(metrics.operators) == 3  # unchained: source, map and sink are own tasks
