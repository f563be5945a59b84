"""The driver side of a Ray job: placement, actor creation, completion and failures.

``start`` checks the job against the cluster (a demand no node can ever satisfy raises
:class:`~sage.common.errors.ResourceUnavailableError` at once instead of leaving actors
pending forever), asks the scheduler policy for a node per task (and, for a policy with
a ``reservation``, reserves every task and service as one placement group, released
when the job ends), creates the actors and starts the sources. One monitor thread then
blocks in ``ray.wait`` on every task's ``wait_finished`` call: the first failure (an
operator error with its traceback, or a dead actor) fails the job and tears every actor
down; with ``max_restarts`` a dead actor is restarted by Ray and upstream tasks replay
their unacknowledged batches.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError

import ray
from sage.common.errors import JobFailedError, ResourceUnavailableError
from sage.common.logging import get_logger
from sage.kernel.core.function import instantiate
from sage.kernel.core.job import JobMetrics, OperatorMetrics, Runtime, ServiceSpec
from sage.kernel.plan import PhysicalPlan, Stage
from sage.kernel.runtime.ray.actors import (
    HostSpec,
    LoopTrackerHost,
    ServiceHost,
    TaskHost,
    loop_actor_name,
    service_actor_name,
    task_actor_name,
)
from sage.kernel.runtime.ray.cluster import current_namespace, ensure_ray
from sage.kernel.runtime.ray.placement import JobPlacement, free_resources, place_job
from sage.kernel.scheduler import (
    PlacementPolicy,
    TaskDemand,
    get_scheduler,
    normalize_resources,
)

_ACTOR_GONE = (RayActorError, ActorUnavailableError)


class RayRuntime(Runtime):
    """Runs a plan on Ray actors (see module docstring)."""

    def __init__(self, address: str | None = None,
                 scheduler: str | PlacementPolicy | None = "default",
                 max_inflight: int = 4, max_restarts: int = 0,
                 placement_timeout_s: float = 120.0) -> None:
        self.address = address
        self.placement_timeout_s = placement_timeout_s
        self.policy = get_scheduler(scheduler)
        self.max_inflight = max(1, int(max_inflight))
        self.max_restarts = int(max_restarts)
        self.job_id = ""
        self.placement = JobPlacement({}, {})  # set by place_job in start()
        self.tasks: dict[str, tuple[Stage, int, Any]] = {}
        self.service_actors: dict[str, Any] = {}
        self.loop_actors: list[Any] = []
        # The driver owns the shared plan object. Holding its ref for the job's lifetime
        # keeps it alive for actor restarts (ray-project/ray#53727): a restarted actor
        # re-reads its constructor args, and an out-of-scope ref fails that restart.
        self._plan_ref: Any = None
        self._plan: PhysicalPlan | None = None
        self._driver_sinks: dict[str, Any] = {}
        self._done = threading.Event()
        self._started = False
        self._stopping = False
        self._failure: JobFailedError | None = None
        self._results: dict[str, tuple[Any, ...]] = {}
        self._metrics = JobMetrics(job_name="")
        self._t0 = 0.0
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self.logger = get_logger("kernel.ray")

    # -- placement ----------------------------------------------------------------------
    def _demands(self, plan: PhysicalPlan, services: list[ServiceSpec]) -> list[TaskDemand]:
        out = [TaskDemand(f"{stage.name}[{i}]", normalize_resources(stage.resources))
               for stage in plan.stages.values() for i in range(stage.parallelism)]
        out += [TaskDemand(f"service:{s.name}", normalize_resources(s.resources))
                for s in services]
        return out

    def _options(self, name: str, task: str, restarts: int) -> dict[str, Any]:
        return {
            "name": name, "namespace": current_namespace(),
            "max_restarts": restarts, "max_task_retries": 0,
            **self.placement.actor_options(task),
        }

    # -- Runtime interface ------------------------------------------------------------------
    def start(self, plan: PhysicalPlan, services: list[ServiceSpec]) -> None:
        ensure_ray(self.address)
        self._t0 = time.perf_counter()
        self._metrics = JobMetrics(job_name=plan.job_name, status="running")
        self.job_id = f"{plan.job_name}-{uuid.uuid4().hex[:8]}"
        self._plan = plan
        namespace = current_namespace()
        demands = self._demands(plan, services)
        self._started = True
        try:
            # ResourceUnavailableError before any actor starts
            self.placement = place_job(self.job_id, demands, self.policy,
                                       self.placement_timeout_s)
            self._start_services(plan, services, namespace)
            for loop in plan.loops:
                entries = [(s.name, i) for s in plan.stages.values() if s.name in loop.entries
                           for i in range(s.parallelism)]
                actor = LoopTrackerHost.options(
                    name=loop_actor_name(self.job_id, loop.id), namespace=namespace,
                ).remote(loop, self.job_id, namespace, entries)
                self.loop_actors.append(actor)
            names = [s.name for s in services]
            self._plan_ref = ray.put(plan)
            for stage in plan.stages.values():
                for i in range(stage.parallelism):
                    task = f"{stage.name}[{i}]"
                    spec = HostSpec(self.job_id, namespace, None, stage.name, i, names,
                                    self.max_inflight, self.max_restarts)
                    options = self._options(task_actor_name(self.job_id, stage.name, i),
                                            task, self.max_restarts)
                    self.tasks[task] = (stage, i,
                                        TaskHost.options(**options).remote(spec,
                                                                        self._plan_ref))
            self._await_placed([h.ready.remote() for _, _, h in self.tasks.values()],
                               plan.job_name, "task")
            ray.get([a.start.remote() for a in self.loop_actors])
            self._metrics.startup_s = time.perf_counter() - self._t0
        except BaseException:
            self._metrics.status = "failed"
            self._teardown()
            self._done.set()
            raise
        waits = {h.wait_finished.remote(): task for task, (_, _, h) in self.tasks.items()}
        for _, _, handle in self.tasks.values():
            handle.run.remote()
        self._monitor = threading.Thread(target=self._watch, args=(waits,),
                                         name=f"sage-ray-{self.job_id}", daemon=True)
        self._monitor.start()

    def _start_services(self, plan: PhysicalPlan, services: list[ServiceSpec],
                        namespace: str) -> None:
        names = [s.name for s in services]
        for spec in services:
            options = self._options(service_actor_name(self.job_id, spec.name),
                                    f"service:{spec.name}", 0)
            self.service_actors[spec.name] = ServiceHost.options(**options).remote(
                spec, plan.job_name, self.job_id, namespace, names)
        started = self._await_placed([a.start.remote() for a in self.service_actors.values()],
                                     plan.job_name, "service")
        for name, failure in zip(self.service_actors, started, strict=True):
            if failure is not None:
                self._failure = JobFailedError(f"service:{name}", failure[0], failure[1])
                self._metrics.status = "failed"
                self._metrics.error = str(self._failure)
                raise self._failure

    def _await_placed(self, refs: list[Any], job: str, what: str) -> list[Any]:
        """Results of the actors' first calls, or a clear error when some actor is still
        waiting for resources (held by other jobs) after ``placement_timeout_s``."""
        try:
            return list(ray.get(refs, timeout=self.placement_timeout_s))
        except GetTimeoutError as exc:
            raise ResourceUnavailableError(
                f"job {job!r}: not every {what} could be placed within "
                f"{self.placement_timeout_s:g}s; the cluster is busy or the requested "
                f"resources are held by other jobs (free now: {free_resources()})") from exc

    def wait(self, timeout: float | None = None) -> bool:
        if not self._done.wait(timeout):
            return False
        if self._monitor is not None:
            self._monitor.join()
        if self._failure is not None:
            raise self._failure
        return True

    def stop(self) -> None:
        self._stopping = True
        for stage, _, handle in list(self.tasks.values()):
            if stage.is_source:
                try:
                    handle.stop.remote()
                except Exception:  # noqa: BLE001 - actor already gone
                    pass

    def metrics(self) -> JobMetrics:
        results = dict(self._results)
        if not self._done.is_set():
            live = {t: h.metrics.remote() for t, (_, _, h) in self.tasks.items()
                    if t not in results}
            for task, ref in live.items():
                try:
                    results[task] = ("running", ray.get(ref, timeout=5), {})
                except (GetTimeoutError, *_ACTOR_GONE):
                    pass
        totals: dict[str, OperatorMetrics] = {}
        peaks: dict[str, int] = {}
        for task, result in results.items():
            for name, m in result[1].items():
                totals.setdefault(name, OperatorMetrics()).add(m)
            for dst, peak in result[2].items():
                key = f"{task}->{dst}"
                peaks[key] = max(peaks.get(key, 0), peak)
        self._metrics.operators = totals
        self._metrics.channel_peaks = peaks
        return self._metrics

    @property
    def running(self) -> bool:
        return self._started and not self._done.is_set()

    # -- monitor ------------------------------------------------------------------------
    def _watch(self, waits: dict[Any, str]) -> None:
        restarts: dict[str, int] = {}
        try:
            while waits:
                ready, _ = ray.wait(list(waits), num_returns=1)
                ref = ready[0]
                task = waits.pop(ref)
                try:
                    result = ray.get(ref)
                except _ACTOR_GONE as exc:
                    used = restarts.get(task, 0)
                    if self.max_restarts != 0 and (self.max_restarts < 0
                                                   or used < self.max_restarts):
                        restarts[task] = used + 1
                        self.logger.warning("task %s died; Ray restarts it (%d/%s)", task,
                                            used + 1, self.max_restarts)
                        handle = self.tasks[task][2]
                        waits[handle.wait_finished.remote()] = task
                        handle.run.remote()
                        continue
                    self._fail(JobFailedError(
                        task, f"the Ray actor running {task} died: {exc}",
                        f"actor {task_actor_name(self.job_id, *self._split(task))} died "
                        f"(no restarts left; configure max_restarts to replay)\n{exc}"))
                    return
                if result[0] == "failed":
                    _, operator, message, tb = result
                    self._fail(JobFailedError(operator, message, tb))
                    return
                self._results[task] = result
                self._to_driver_sinks(result[3])
            self._close_services()
        except BaseException as exc:  # noqa: BLE001 - the driver must never hang
            self._fail(JobFailedError("driver", f"{type(exc).__name__}: {exc}"))
            return
        finally:
            self._finish()

    def _to_driver_sinks(self, records: dict[str, list[Any]]) -> None:
        """Run the ``on_driver`` sinks (``env.collect``) here over a finished task's records."""
        for operator, items in records.items():
            sink = self._driver_sinks.get(operator)
            if sink is None:
                assert self._plan is not None  # set by start() before any task runs
                fn = self._plan.stage_of(operator).operator(operator).function
                assert fn is not None  # on_driver kinds always carry their sink
                sink = instantiate(fn.factory, fn.args, dict(fn.kwargs))
                self._driver_sinks[operator] = sink
            for item in items:
                sink.execute(item)  # type: ignore[attr-defined]

    @staticmethod
    def _split(task: str) -> tuple[str, int]:
        stage, _, index = task.rpartition("[")
        return stage, int(index.rstrip("]"))

    def _close_services(self) -> None:
        refs = [a.close.remote() for a in self.service_actors.values()]
        try:
            ray.get(refs, timeout=30)
        except Exception:  # noqa: BLE001 - a failing close must not fail a finished job
            self.logger.exception("closing a service failed")

    def _fail(self, error: JobFailedError) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = error
                self._metrics.error = str(error)

    def _finish(self) -> None:
        self.metrics_snapshot()
        self._teardown()
        self._metrics.duration_s = time.perf_counter() - self._t0
        if self._failure is not None:
            self._metrics.status = "failed"
        elif self._stopping:
            self._metrics.status = "stopped"
        else:
            self._metrics.status = "finished"
        self._done.set()

    def metrics_snapshot(self) -> None:
        """Freeze the metrics of finished tasks before the actors go away."""
        if self._failure is None:
            return
        for task, (_, _, handle) in self.tasks.items():
            if task in self._results:
                continue
            try:
                self._results[task] = ("failed", ray.get(handle.metrics.remote(), timeout=2),
                                       {})
            except Exception:  # noqa: BLE001 - dead or stuck actor: no metrics
                pass

    def _teardown(self) -> None:
        """Kill every actor of the job, then give its reserved resources back."""
        for actor in [h for _, _, h in self.tasks.values()] + \
                list(self.service_actors.values()) + self.loop_actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already dead
                pass
        self._plan_ref = None
        try:
            self.placement.release()
        except Exception:  # noqa: BLE001 - Ray already gone (driver shutting down)
            self.logger.exception("removing the placement group of %s failed", self.job_id)
