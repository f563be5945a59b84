"""Dataflow kernel throughput: ``from_batch(range(N)).map(+1).filter(even).sink(count)``.

Reports the median wall time over several repeats of each scenario, records/s and the
ratio to a plain Python loop that calls the very same functions in the same process
(the kernel's overhead factor). Scenarios:

* ``plain_loop``: the baseline loop.
* ``p{P}``: every operator at parallelism P (chains fuse source->map->filter->sink).
* ``p{P}_shuffle``: source and sink at 1, map and filter at P (records cross channels).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sage.common.errors import ConfigError
from sage.kernel import BaseEnvironment, JobMetrics, LocalEnvironment, SinkFunction


def inc(x: int) -> int:
    return x + 1


def even(x: int) -> bool:
    return x % 2 == 0


class CountSink(SinkFunction):
    """Counts records; the job metrics report the total across instances."""

    def open(self) -> None:
        self.n = 0

    def execute(self, data: Any) -> None:
        self.n += 1


def plain_loop(n: int) -> int:
    """The baseline: the same functions called from one Python loop."""
    sink = CountSink()
    sink.open()
    for x in range(n):
        y = inc(x)
        if even(y):
            sink.execute(y)
    return sink.n


def make_environment(runtime: str, name: str, config: dict[str, Any]) -> BaseEnvironment:
    """``local`` or ``ray`` (``RemoteEnvironment``, from the Ray runtime)."""
    if runtime == "local":
        return LocalEnvironment(name, config=config)
    if runtime == "ray":
        try:
            from sage.kernel import RemoteEnvironment
        except (ImportError, AttributeError) as exc:
            raise RuntimeError(
                "the Ray runtime (sage.kernel.RemoteEnvironment) is not "
                f"available: {exc}"
            ) from exc
        return RemoteEnvironment(name, config=config)  # type: ignore[no-any-return]
    raise ConfigError(f"unknown runtime {runtime!r}; use local or ray")


def run_pipeline(
    runtime: str, n: int, parallelism: int, shuffle: bool, batch_size: int
) -> JobMetrics:
    """One run of the benchmark job; checks that every even record reached the sink."""
    env = make_environment(runtime, "bench_dataflow", {"batch_size": batch_size})
    p_src = 1 if shuffle else parallelism
    (
        env.from_batch(range(n), parallelism=p_src)
        .map(inc, parallelism=parallelism)
        .filter(even, parallelism=parallelism)
        .sink(CountSink, parallelism=p_src, name="count")
    )
    return checked(env.submit(autostop=True), "count", n // 2)


def checked(metrics: JobMetrics | None, sink: str, expected: int) -> JobMetrics:
    """The job's metrics, after checking that ``sink`` saw exactly ``expected`` records."""
    counted = metrics[sink].records_in if metrics is not None else -1
    if metrics is None or counted != expected:
        raise RuntimeError(f"lost or duplicated records: sink saw {counted}, want {expected}")
    return metrics


@dataclass
class ScenarioResult:
    name: str
    parallelism: int
    median_s: float
    runs_s: list[float]
    records_per_s: float
    ratio_to_plain: float


@dataclass
class DataflowReport:
    records: int
    repeats: int
    runtime: str
    batch_size: int
    scenarios: list[ScenarioResult] = field(default_factory=list)

    def scenario(self, name: str) -> ScenarioResult | None:
        return next((s for s in self.scenarios if s.name == name), None)

    @property
    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        p1 = self.scenario("p1")
        if p1:
            out["ratio_p1_to_plain"] = p1.ratio_to_plain
        p2 = self.scenario("p2")
        if p1 and p2:
            out["speed_p2_over_p1"] = p1.median_s / p2.median_s
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = self.summary
        return data


def _time(fn: Callable[[], Any], repeats: int, tick: Callable[[], None]) -> list[float]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
        tick()
    return runs


def run_dataflow_benchmark(
    records: int = 1_000_000,
    repeats: int = 5,
    parallelisms: tuple[int, ...] = (1, 2),
    runtime: str = "local",
    batch_size: int = 1024,
    shuffle: bool = True,
    tick: Callable[[], None] = lambda: None,
) -> DataflowReport:
    """Run every scenario ``repeats`` times (after one warm-up each) and report medians."""
    report = DataflowReport(records, repeats, runtime, batch_size)
    scenarios: list[tuple[str, int, Callable[[], Any]]] = [
        ("plain_loop", 1, lambda: plain_loop(records))
    ]
    for p in parallelisms:
        scenarios.append(
            (f"p{p}", p, lambda p=p: run_pipeline(runtime, records, p, False, batch_size))
        )
        if shuffle and p > 1:
            scenarios.append(
                (
                    f"p{p}_shuffle",
                    p,
                    lambda p=p: run_pipeline(runtime, records, p, True, batch_size),
                )
            )
    plain_median = 0.0
    for name, p, fn in scenarios:
        fn()  # warm-up (imports, first-time allocations, Ray actor start)
        runs = _time(fn, repeats, tick)
        median = statistics.median(runs)
        if name == "plain_loop":
            plain_median = median
        report.scenarios.append(
            ScenarioResult(
                name=name,
                parallelism=p,
                median_s=median,
                runs_s=runs,
                records_per_s=records / median if median else float("inf"),
                ratio_to_plain=median / plain_median if plain_median else 1.0,
            )
        )
    return report


def scenario_count(parallelisms: tuple[int, ...], shuffle: bool = True) -> int:
    return 1 + sum(2 if shuffle and p > 1 else 1 for p in parallelisms)
