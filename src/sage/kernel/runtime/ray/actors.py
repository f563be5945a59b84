"""The Ray actors of a job: one :class:`TaskHost` per parallel task, one
:class:`ServiceHost` per service and one :class:`LoopTrackerHost` per feedback loop.

Actors find each other by name (``sage/<job id>/task/<stage>/<i>``), so a task that Ray
restarts reconnects without the driver's help. Data methods (``push``, ``run``) run one
at a time in the default concurrency group, exactly like the local runtime's task
thread; control methods (``wait_finished``, ``stop``, ``resync``, ``metrics``) run in a
separate ``control`` group so they are answered while data is being processed.
"""

from __future__ import annotations

import threading
import traceback
import warnings
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ray.exceptions import RayTaskError

import ray
from sage.common.errors import ConfigError
from sage.common.logging import get_logger
from sage.kernel.core.job import ServiceSpec
from sage.kernel.plan import LoopSpec, PhysicalPlan
from sage.kernel.runtime.loops import LocalLoopTracker
from sage.kernel.runtime.ray.transport import ActorTransport, DownstreamLost
from sage.kernel.runtime.runners import OperatorError
from sage.kernel.runtime.services import open_service, resolve_method
from sage.kernel.runtime.task import LOOP_QUIESCENT, TaskCore


def task_actor_name(job_id: str, stage: str, index: int) -> str:
    return f"sage/{job_id}/task/{stage}/{index}"


def service_actor_name(job_id: str, service: str) -> str:
    return f"sage/{job_id}/service/{service}"


def loop_actor_name(job_id: str, loop: int) -> str:
    return f"sage/{job_id}/loop/{loop}"


@dataclass
class HostSpec:
    """Everything a task actor needs, also after Ray restarted it (constructor args).

    The plan travels as one shared object (``ray.put``): serialising it once per job
    keeps sources over one-shot iterators consistent and actor creation cheap."""

    job_id: str
    namespace: str
    plan: PhysicalPlan | None  # shipped once per job with ray.put (see RayRuntime)
    stage: str
    index: int
    services: list[str]
    max_inflight: int = 4
    max_restarts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def restartable(self) -> bool:
        return self.max_restarts != 0


class _Names:
    """Resolves (and caches) actor handles by name inside one job."""

    def __init__(self, job_id: str, namespace: str) -> None:
        self.job_id = job_id
        self.namespace = namespace
        self._cache: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        handle = self._cache.get(name)
        if handle is None:
            handle = ray.get_actor(name, namespace=self.namespace)
            self._cache[name] = handle
        return handle

    def task(self, stage: str, index: int) -> Any:
        return self.get(task_actor_name(self.job_id, stage, index))


class RayServiceCaller:
    """:class:`~sage.kernel.core.context.ServiceCaller` over service actors."""

    def __init__(self, names: _Names, services: list[str]) -> None:
        self.names = names
        self.services = list(services)

    def _handle(self, name: str) -> Any:
        if name not in self.services:
            raise ConfigError(f"no service named {name!r}; known: {sorted(self.services)}")
        return self.names.get(service_actor_name(self.names.job_id, name))

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
             method: str | None, timeout: float | None) -> Any:
        ref = self._handle(name).call.remote(method, args, kwargs)
        try:
            return ray.get(ref, timeout=timeout)
        except RayTaskError as exc:  # re-raise the service's own exception type
            raise exc.as_instanceof_cause() from None

    def call_async(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                   method: str | None) -> Future[Any]:
        ref = self._handle(name).call.remote(method, args, kwargs)
        return ref.future()  # type: ignore[no-any-return]


class _RemoteLoopTracker:
    """:class:`~sage.kernel.runtime.routing.LoopTracker` proxy to a loop's tracker actor.

    ``add`` is synchronous so the tracker always counts a record in before the record
    can be counted out by another task (calls from different actors are not ordered).
    """

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def add(self, n: int) -> None:
        ray.get(self.handle.add.remote(n))

    def done(self, n: int) -> None:
        self.handle.done.remote(n)

    def external_done(self) -> None:
        self.handle.external_done.remote()


@ray.remote(concurrency_groups={"control": 4})
class TaskHost:
    """One parallel instance of one stage, driving the shared :class:`TaskCore`."""

    def __init__(self, spec: HostSpec, plan: PhysicalPlan) -> None:
        self.spec = spec
        spec.plan = plan
        self.stage = next(s for s in plan.stages.values() if s.name == spec.stage)
        self.names = _Names(spec.job_id, spec.namespace)
        self.transport = ActorTransport(self.names.task, spec.max_inflight,
                                        spec.restartable, max(spec.max_restarts, 0))
        loop = None
        if self.stage.loop is not None:
            loop = _RemoteLoopTracker(self.names.get(loop_actor_name(spec.job_id,
                                                                     self.stage.loop)))
        self.core = TaskCore(plan, self.stage, spec.index, self.transport,
                             services=RayServiceCaller(self.names, spec.services), loop=loop,
                             logger=get_logger(f"kernel.ray.{plan.job_name}"), remote=True)
        self.done = threading.Event()
        self.stop_event = threading.Event()
        self.result: tuple[Any, ...] = ("running",)
        self.lost = False
        try:
            self.core.open()
        except BaseException as exc:  # noqa: BLE001 - reported through wait_finished
            self._fail_from(exc)
        with warnings.catch_warnings():  # Ray warns about its own actor_id property
            warnings.simplefilter("ignore")
            restarted = ray.get_runtime_context().was_current_actor_reconstructed
        if restarted:
            self._request_resync()

    # -- control group ----------------------------------------------------------------
    def ready(self) -> str:
        return ray.get_runtime_context().get_node_id()

    @ray.method(concurrency_group="control")
    def wait_finished(self) -> tuple[Any, ...]:
        """Blocks until the task finished or failed: ("finished", metrics, peaks,
        records for the driver's sinks) or ("failed", operator, message, traceback)."""
        self.done.wait()
        return self.result

    @ray.method(concurrency_group="control")
    def stop(self) -> None:
        self.stop_event.set()

    @ray.method(concurrency_group="control")
    def resync(self, dst_stage: str, dst_index: int) -> None:
        self.transport.resync(dst_stage, dst_index)

    @ray.method(concurrency_group="control")
    def metrics(self) -> dict[str, Any]:
        return self.core.metrics()

    @ray.method(concurrency_group="control")
    def placement(self) -> dict[str, Any]:
        ctx = ray.get_runtime_context()
        return {"node_id": ctx.get_node_id(), "resources": ctx.get_assigned_resources(),
                "task": self.core.name}

    # -- data path (default group: one call at a time) ------------------------------------
    def run(self) -> None:
        """Sources: produce until exhausted or stopped. Tasks without inputs: finish."""
        if self.done.is_set() or self.lost:
            return
        core = self.core
        try:
            if core.is_source:
                core.run_source(self.stop_event)
            elif self.stage.num_input_channels == 0:
                core.finish()
            else:
                return
            self.transport.drain()
            self._complete()
        except BaseException as exc:  # noqa: BLE001 - a task must never die silently
            self._fail_from(exc)

    def push(self, channel: int, payload: Any) -> None:
        """One micro-batch (or EOS / loop marker) from an upstream task."""
        if self.done.is_set() or self.lost:
            return
        try:
            finished = self.core.handle(channel, payload)
            if not finished:
                self.core.flush()
                if self.spec.restartable:  # acknowledge only what reached downstream
                    self.transport.drain()
                return
            self.transport.drain()
            self._complete()
        except BaseException as exc:  # noqa: BLE001
            self._fail_from(exc)

    # -- internals --------------------------------------------------------------------
    def _complete(self) -> None:
        self.result = ("finished", self.core.metrics(), self.transport.peaks(),
                       self.core.for_driver())
        self.done.set()

    def _fail_from(self, exc: BaseException) -> None:
        if isinstance(exc, DownstreamLost):
            self.lost = True  # the driver reports the dead task, not this symptom
            self.core.abort()
            return
        if isinstance(exc, OperatorError):
            result = ("failed", exc.operator, f"{type(exc.error).__name__}: {exc.error}",
                      exc.traceback_text)
        else:
            result = ("failed", self.core.name, f"{type(exc).__name__}: {exc}",
                      traceback.format_exc())
        self.core.abort()
        if not self.done.is_set():
            self.result = result
            self.done.set()

    def _request_resync(self) -> None:
        """After a restart: ask every upstream task to re-send the end-of-stream marks
        this task had already received (its channel bookkeeping died with it)."""
        for edge in self.stage.in_edges:
            for s in range(edge.src_parallelism):
                try:
                    self.names.task(edge.src_stage, s).resync.remote(self.stage.name,
                                                                     self.spec.index)
                except ValueError:  # upstream already gone (job ending)
                    pass


@ray.remote(concurrency_groups={"control": 1})
class ServiceHost:
    """One service instance; calls run one at a time, like the local service thread."""

    def __init__(self, spec: ServiceSpec, job_name: str, job_id: str, namespace: str,
                 services: list[str]) -> None:
        self.spec = spec
        self.job_name = job_name
        self.caller = RayServiceCaller(_Names(job_id, namespace), services)
        self.instance: Any = None

    def start(self) -> tuple[str, str] | None:
        """Create and open the service; ``(message, traceback)`` on failure."""
        try:
            self.instance = open_service(self.spec, self.job_name, self.caller)
        except Exception as exc:  # noqa: BLE001 - reported to the driver
            return f"{type(exc).__name__}: {exc}", traceback.format_exc()
        return None

    def call(self, method: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        target = resolve_method(self.instance, self.spec.name, method)
        return target(*args, **kwargs)

    def close(self) -> None:
        closer = getattr(self.instance, "close", None)
        if callable(closer):
            closer()

    @ray.method(concurrency_group="control")
    def placement(self) -> dict[str, Any]:
        ctx = ray.get_runtime_context()
        return {"node_id": ctx.get_node_id(), "resources": ctx.get_assigned_resources()}


@ray.remote(num_cpus=0)
class LoopTrackerHost:
    """In-flight record counter of one feedback loop (see :mod:`sage.kernel.runtime.loops`);
    when the loop is quiescent it tells every entry task through ``push``."""

    def __init__(self, spec: LoopSpec, job_id: str, namespace: str,
                 entries: list[tuple[str, int]]) -> None:
        names = _Names(job_id, namespace)

        def notify() -> None:
            for stage, index in entries:
                names.task(stage, index).push.remote(-1, LOOP_QUIESCENT)

        self.tracker = LocalLoopTracker(spec, notify)

    def add(self, n: int) -> None:
        self.tracker.add(n)

    def done(self, n: int) -> None:
        self.tracker.done(n)

    def external_done(self) -> None:
        self.tracker.external_done()

    def start(self) -> None:
        self.tracker.start()
