"""Ray runtime benchmarks: CPU-bound scaling and the overhead against the local runtime.

* ``cpu_scaling``: ``from_batch(range(N)).map(cpu_heavy, parallelism=P).sink(count)``
  on Ray at P=1 and P=2, unchained (source, map and sink are separate tasks at both P, so
  only the map's parallelism differs). Python threads cannot run a CPU-bound map in
  parallel (GIL); Ray actors are processes, so P=2 should approach 2x on two free cores.
* ``throughput``: the kernel benchmark pipeline (map +1, filter even, count) on the
  local runtime and on Ray, records/s and the Ray/local wall-time ratio.

Each figure is the median of ``repeats`` timed runs after one warm-up run; Ray start-up
is excluded (the cluster is started once). Wall times include creating the job's actors
(one process each, ~1 s on a busy 2-core box); ``run_s`` is the wall time minus that
start-up (``JobMetrics.startup_s``), i.e. the time records were flowing. The CPU
speed-up is reported on both; the target (>= 1.7x) is about ``run_s``, since actor
start-up is a fixed cost per job, not a per-record one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sage.kernel import JobMetrics


def cpu_heavy(x: int, rounds: int = 100_000) -> int:
    """Pure-Python CPU work (holds the GIL), ~a few ms per record."""
    acc = x
    for i in range(rounds):
        acc = (acc * 31 + i) % 1_000_003
    return acc


@dataclass
class Timing:
    name: str
    runs_s: list[float]
    records: int
    startup_s: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.runs_s)

    @property
    def run_s(self) -> float:
        """Median wall time minus the job's start-up (records flowing)."""
        if not self.startup_s:
            return self.median_s
        return statistics.median(w - s for w, s in zip(self.runs_s, self.startup_s, strict=True))

    @property
    def records_per_s(self) -> float:
        return self.records / self.median_s if self.median_s else float("inf")


@dataclass
class RayBenchReport:
    repeats: int
    timings: list[Timing] = field(default_factory=list)

    def get(self, name: str) -> Timing | None:
        return next((t for t in self.timings if t.name == name), None)

    @property
    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        p1, p2 = self.get("cpu_ray_p1"), self.get("cpu_ray_p2")
        if p1 and p2:
            out["cpu_speedup_p2_over_p1"] = p1.run_s / p2.run_s if p2.run_s else 0.0
            out["cpu_speedup_p2_over_p1_wall"] = p1.median_s / p2.median_s
        local, ray_ = self.get("throughput_local"), self.get("throughput_ray")
        if local and ray_:
            out["ray_over_local_time"] = ray_.median_s / local.median_s
            out["ray_over_local_run_time"] = ray_.run_s / local.run_s if local.run_s else 0.0
            out["ray_records_per_s"] = ray_.records_per_s
            out["ray_records_per_s_run"] = ray_.records / ray_.run_s if ray_.run_s else 0.0
            out["local_records_per_s"] = local.records_per_s
        lp1 = self.get("cpu_local_p1")
        if lp1 and p2:
            out["cpu_ray_p2_over_local_p1"] = lp1.median_s / p2.median_s
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "repeats": self.repeats,
            "timings": [
                {
                    **asdict(t),
                    "median_s": t.median_s,
                    "run_s": t.run_s,
                    "records_per_s": t.records_per_s,
                }
                for t in self.timings
            ],
            "summary": self.summary,
        }


def run_cpu_job(runtime: str, records: int, parallelism: int, rounds: int) -> JobMetrics:
    from sage.benchmark.dataflow import CountSink, checked, make_environment

    env = make_environment(
        runtime, f"cpu-{runtime}-p{parallelism}", {"batch_size": 8, "chaining": False}
    )
    (
        env.from_batch(range(records))
        .map(cpu_heavy, rounds=rounds, parallelism=parallelism)
        .sink(CountSink, name="count")
    )
    return checked(env.submit(autostop=True), "count", records)


def _measure(
    name: str, records: int, fn: Callable[[], JobMetrics], repeats: int, tick: Callable[[], None]
) -> Timing:
    fn()  # warm-up: imports, worker processes, first allocations
    timing = Timing(name, [], records)
    for _ in range(repeats):
        start = time.perf_counter()
        metrics = fn()
        timing.runs_s.append(time.perf_counter() - start)
        timing.startup_s.append(metrics.startup_s)
        tick()
    return timing


def run_ray_benchmark(
    cpu_records: int = 2400,
    rounds: int = 100_000,
    throughput_records: int = 1_000_000,
    repeats: int = 3,
    tick: Callable[[], None] = lambda: None,
) -> RayBenchReport:
    """Start a local Ray (if none), run every scenario, report medians."""
    from sage.benchmark.dataflow import run_pipeline

    report = RayBenchReport(repeats)
    scenarios: list[tuple[str, int, Callable[[], Any]]] = [
        ("cpu_local_p1", cpu_records, lambda: run_cpu_job("local", cpu_records, 1, rounds)),
        ("cpu_ray_p1", cpu_records, lambda: run_cpu_job("ray", cpu_records, 1, rounds)),
        ("cpu_ray_p2", cpu_records, lambda: run_cpu_job("ray", cpu_records, 2, rounds)),
        (
            "throughput_local",
            throughput_records,
            lambda: run_pipeline("local", throughput_records, 1, False, 1024),
        ),
        (
            "throughput_ray",
            throughput_records,
            lambda: run_pipeline("ray", throughput_records, 1, False, 1024),
        ),
        (
            "throughput_ray_p2_shuffle",
            throughput_records,
            lambda: run_pipeline("ray", throughput_records, 2, True, 1024),
        ),
    ]
    for name, n, fn in scenarios:
        report.timings.append(_measure(name, n, fn, repeats, tick))
    return report


SCENARIOS = 6


def run_with_ray(address: str | None, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` with Ray initialised the way ``RemoteEnvironment`` does it (a local Ray
    sized to the machine unless ``address`` names a cluster); shuts down only a Ray it
    started."""
    import ray
    from sage.kernel.runtime.ray.cluster import ensure_ray

    started = not ray.is_initialized()
    ensure_ray(address)
    try:
        return fn()
    finally:
        if started:
            ray.shutdown()
