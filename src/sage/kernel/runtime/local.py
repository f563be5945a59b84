"""The local runtime: one thread per task, bounded channels between them.

Each task owns one :class:`~sage.platform.queue.BoundedChannel` inbox shared by all its
input channels (messages are ``(channel, payload)``), so fan-in needs no polling and a
full inbox blocks the producers (backpressure). Feedback edges bypass the capacity so a
loop can never deadlock on itself. No daemon, port or timer is involved: threads block on
their inboxes and wake on data.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

from sage.common.errors import JobFailedError
from sage.common.logging import get_logger
from sage.kernel.core.job import JobMetrics, OperatorMetrics, Runtime, ServiceSpec
from sage.kernel.plan import PhysicalPlan, PlanEdge
from sage.kernel.runtime.loops import LocalLoopTracker
from sage.kernel.runtime.runners import OperatorError
from sage.kernel.runtime.services import LocalServiceHost
from sage.kernel.runtime.task import EOS, LOOP_QUIESCENT, TaskCore
from sage.platform.queue import BoundedChannel, ChannelCancelled


class _LocalTransport:
    """Puts micro-batches into the destination task's inbox."""

    def __init__(self, inboxes: dict[str, list[BoundedChannel]]) -> None:
        self.inboxes = inboxes

    def send(self, edge: PlanEdge, dst_index: int, channel: int, batch: list[Any]) -> None:
        inbox = self.inboxes[edge.dst_stage][dst_index]
        if edge.feedback:
            inbox.put_control((channel, batch))  # unbounded: a cycle must not deadlock
        else:
            inbox.put((channel, batch))

    def send_eos(self, edge: PlanEdge, dst_index: int, channel: int) -> None:
        self.inboxes[edge.dst_stage][dst_index].put_control((channel, EOS))


class LocalRuntime(Runtime):
    """Runs a plan in this process with threads."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._cores: list[TaskCore] = []
        self._inboxes: dict[str, list[BoundedChannel]] = {}
        self._stop = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._failure: JobFailedError | None = None
        self._alive = 0
        self._services: LocalServiceHost | None = None
        self._metrics = JobMetrics(job_name="")
        self._started = 0.0
        self.logger = get_logger("kernel.local")

    # -- Runtime interface ----------------------------------------------------------
    def start(self, plan: PhysicalPlan, services: list[ServiceSpec]) -> None:
        self._metrics = JobMetrics(job_name=plan.job_name, status="running")
        self._started = time.perf_counter()
        cap = plan.config.channel_capacity
        self._inboxes = {
            s.name: [BoundedChannel(cap, name=n) for n in s.task_names()]
            for s in plan.stages.values()
        }
        transport = _LocalTransport(self._inboxes)
        self._services = LocalServiceHost(services, plan.job_name)
        try:
            self._services.start()
        except JobFailedError as exc:
            self._failure = exc
            self._services = None
            self._finish_job()
            raise
        trackers: dict[int, LocalLoopTracker] = {}
        for loop in plan.loops:
            targets = [box for name in loop.entries for box in self._inboxes[name]]
            trackers[loop.id] = LocalLoopTracker(loop, self._quiescent_callback(targets))
        for stage in plan.stages.values():
            tracker = trackers.get(stage.loop) if stage.loop is not None else None
            for i in range(stage.parallelism):
                core = TaskCore(plan, stage, i, transport, services=self._services,
                                loop=tracker, logger=self.logger)
                self._cores.append(core)
                thread = threading.Thread(
                    target=self._run_task, args=(core, self._inboxes[stage.name][i]),
                    name=f"sage-{plan.job_name}-{core.name}", daemon=True,
                )
                self._threads.append(thread)
        self._alive = len(self._threads)
        for thread in self._threads:
            thread.start()
        self._metrics.startup_s = time.perf_counter() - self._started
        for tracker in trackers.values():
            tracker.start()
        if not self._threads:
            self._finish_job()

    def wait(self, timeout: float | None = None) -> bool:
        if not self._done.wait(timeout):
            return False
        for thread in self._threads:
            thread.join()
        if self._failure is not None:
            raise self._failure
        return True

    def stop(self) -> None:
        self._stop.set()

    def metrics(self) -> JobMetrics:
        totals: dict[str, OperatorMetrics] = {}
        for core in self._cores:
            for name, m in core.metrics().items():
                totals.setdefault(name, OperatorMetrics()).add(m)
        self._metrics.operators = totals
        self._metrics.channel_peaks = {
            box.name: box.peak for boxes in self._inboxes.values() for box in boxes
        }
        return self._metrics

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def in_task_thread(self) -> bool:
        """True when called from one of this job's task threads (e.g. a sink)."""
        return threading.current_thread() in self._threads

    # -- internals ------------------------------------------------------------------
    @staticmethod
    def _quiescent_callback(targets: list[BoundedChannel]) -> Any:
        def notify() -> None:
            for box in targets:
                try:
                    box.put_control((-1, LOOP_QUIESCENT))
                except ChannelCancelled:
                    pass

        return notify

    def _run_task(self, core: TaskCore, inbox: BoundedChannel) -> None:
        try:
            core.open()
            if core.is_source:
                core.run_source(self._stop)
            else:
                if core.stage.num_input_channels == 0:
                    core.finish()
                while not core.finished:
                    channel, payload = inbox.get()
                    core.handle(channel, payload)
                    if not core.finished and inbox.empty():
                        core.flush()
        except ChannelCancelled:
            pass
        except OperatorError as exc:
            self._fail(JobFailedError(exc.operator, f"{type(exc.error).__name__}: {exc.error}",
                                      exc.traceback_text))
        except BaseException as exc:  # noqa: BLE001 - a task must never die silently
            self._fail(JobFailedError(core.name, f"{type(exc).__name__}: {exc}",
                                      traceback.format_exc()))
        finally:
            if not core.finished:
                core.abort()
            with self._lock:
                self._alive -= 1
                last = self._alive == 0
            if last:
                self._finish_job()

    def _fail(self, error: JobFailedError) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = error
                self._metrics.error = str(error)
        self._stop.set()
        for boxes in self._inboxes.values():
            for box in boxes:
                box.cancel()

    def _finish_job(self) -> None:
        if self._services is not None:
            self._services.close()
        self._metrics.duration_s = time.perf_counter() - self._started
        if self._failure is not None:
            self._metrics.status = "failed"
        elif self._stop.is_set():
            self._metrics.status = "stopped"
        else:
            self._metrics.status = "finished"
        self._done.set()
