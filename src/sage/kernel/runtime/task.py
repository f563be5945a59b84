"""The runtime-agnostic task core: one parallel instance of one :class:`Stage`.

Contract (the local runtime drives it from a thread, the Ray runtime from an actor):

* ``TaskCore(plan, stage, index, transport, services=..., loop=...)`` then ``open()``:
  instantiates each chained function with the operator's args, sets ``fn.ctx``, calls
  ``open()``.
* Sources: ``run_source(stop_event)`` (or ``source_step()`` until it returns ``-1``,
  then ``finish()``).
* Other tasks: deliver every message with ``handle(channel, payload)`` where payload is a
  ``list`` (a micro-batch), :data:`EOS` or :data:`LOOP_QUIESCENT`. ``handle`` returns
  ``True`` once the task has finished: every input channel delivered EOS (counted per
  channel, duplicates ignored). Call ``flush()`` whenever the inbox is empty right now.
* Outputs go through one :class:`~sage.kernel.runtime.routing.EdgeRouter` per out-edge
  into ``transport.send`` (micro-batches of up to ``batch_size``) and
  ``transport.send_eos``.
* Errors: :class:`~sage.kernel.runtime.runners.OperatorError` escapes ``open``,
  ``handle``, ``source_step`` or ``finish`` when an operator fails under the ``fail``
  policy; the runtime then fails the job and calls ``abort()``.
* ``remote=True`` (a task outside the driver's process): ``on_driver`` sinks
  (``env.collect``) only keep their records, read with :meth:`TaskCore.for_driver`.
* Loops: for tasks inside a feedback loop the core reports to a :class:`LoopTracker`
  (in-flight records inside the loop, end of external inputs); the runtime delivers
  ``LOOP_QUIESCENT`` to loop entries when the tracker says the loop is idle.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

from sage.common.logging import get_logger
from sage.kernel.core.context import ServiceCaller, TaskContext
from sage.kernel.core.function import BaseFunction, instantiate
from sage.kernel.graph import DeadLetter, ErrorPolicy
from sage.kernel.plan import PhysicalPlan, PlanEdge, Stage
from sage.kernel.runtime.routing import EdgeRouter, LoopTracker, Transport
from sage.kernel.runtime.runners import (
    OperatorError,
    OperatorMetrics,
    OperatorRunner,
    SourceRunner,
)


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:  # pickles to the same singleton (Ray)
        return self.name


EOS = _Marker("EOS")
LOOP_QUIESCENT = _Marker("LOOP_QUIESCENT")

# An unbounded source that has nothing right now backs off between these bounds; a
# source that produces records never waits.
_IDLE_MIN_S = 0.0005
_IDLE_MAX_S = 0.02


class TaskCore:
    """One task: a chain of operators, its input-channel bookkeeping and output routers."""

    def __init__(self, plan: PhysicalPlan, stage: Stage, index: int, transport: Transport,
                 services: ServiceCaller | None = None, loop: LoopTracker | None = None,
                 logger: logging.Logger | None = None, remote: bool = False) -> None:
        self.plan = plan
        self.remote = remote
        self.stage = stage
        self.index = index
        self.name = f"{stage.name}[{index}]"
        self.transport = transport
        self.services = services
        self.loop = loop if stage.loop is not None else None
        self.logger = logger or get_logger(f"kernel.{plan.job_name}")
        self.batch_size = plan.config.batch_size
        self.finished = False
        self.opened = False
        self._closed = False
        self.ops: list[OperatorRunner] = []
        self.routers: list[EdgeRouter] = []
        self.dead_letter_routers: dict[str, EdgeRouter] = {}
        self._channels = stage.input_channels()
        self._pending = len(self._channels)
        self._done: set[int] = set()
        self._external_pending = sum(1 for c in self._channels if not c.in_loop)
        self._keyers: dict[int, Any] = {}

    @property
    def is_source(self) -> bool:
        return self.stage.is_source

    # -- life cycle -----------------------------------------------------------------
    def _context(self, operator: str) -> TaskContext:
        return TaskContext(
            job_name=self.plan.job_name, task_name=self.name, operator_name=operator,
            index=self.index, parallelism=self.stage.parallelism,
            logger=get_logger(f"kernel.{self.plan.job_name}.{operator}"),
            services=self.services,
        )

    def open(self) -> None:
        """Instantiate and open every chained function, selectors and routers."""
        default = self.plan.config.error_policy
        for spec in self.stage.operators:
            fn_spec = spec.function
            if fn_spec is None:  # identity operators (dead-letter streams)
                fn = BaseFunction()
            elif spec.kind.on_driver and self.remote:
                fn = DriverBuffer()  # the driver runs the real sink (env.collect)
            else:
                fn = instantiate(fn_spec.factory, fn_spec.args, dict(fn_spec.kwargs))
            fn.ctx = self._context(spec.name)
            policy: ErrorPolicy = spec.error_policy or default
            runner_cls = SourceRunner if spec.kind.source else OperatorRunner
            runner = runner_cls(spec, fn, policy, self._dead_letter)
            self.ops.append(runner)
        head_ctx = self.ops[0].fn.ctx
        for edge in self.stage.in_edges:
            if edge.key_selector is not None:
                sel = instantiate(edge.key_selector.factory, edge.key_selector.args,
                                  dict(edge.key_selector.kwargs))
                sel.ctx = head_ctx
                sel.open()
                self._keyers[edge.id] = sel.execute  # type: ignore[attr-defined]
        self._keyer_by_channel = [self._keyers.get(c.edge_id) for c in self._channels]
        for edge in self.stage.out_edges:
            self.routers.append(self._router(edge))
        for name, edge in self.stage.dead_letter_edges.items():
            self.dead_letter_routers[name] = self._router(edge)
        for runner in self.ops:
            try:
                runner.fn.open()
            except Exception as exc:
                raise runner.fail(exc) from exc
        self.opened = True

    def _router(self, edge: PlanEdge) -> EdgeRouter:
        key = None
        if edge.key_selector is not None and edge.strategy == "hash":
            sel = instantiate(edge.key_selector.factory, edge.key_selector.args,
                              dict(edge.key_selector.kwargs))
            sel.ctx = self._context(f"{edge.src_stage}->keyby")
            sel.open()
            key = sel.execute  # type: ignore[attr-defined]
        return EdgeRouter(edge, self.index, self.transport, self.batch_size, key, self.loop)

    def _dead_letter(self, name: str, letter: DeadLetter) -> None:
        router = self.dead_letter_routers.get(name)
        if router is None:
            self.logger.error("dead letter without a stream %r: %s", name, letter)
            return
        router.emit([letter])

    # -- data path ------------------------------------------------------------------
    def _run_chain(self, records: list[Any], port: int, keys: list[Any] | None,
                   start: int = 0) -> None:
        ops = self.ops
        if start < len(ops):
            records = ops[start].process(records, port, keys)
        for i in range(start + 1, len(ops)):
            if not records:
                return
            records = ops[i].process(records)
        if records:
            for router in self.routers:
                router.emit(records)

    def source_step(self) -> int:
        """Pull one batch from the source and push it through the chain.

        Returns the number of records pulled, or ``-1`` once a bounded source is
        exhausted (then call :meth:`finish`).
        """
        source = self.ops[0]
        records, exhausted = source.next_batch(self.batch_size)  # type: ignore[attr-defined]
        if records:
            self._run_chain(records, 0, None, start=1)
        if exhausted:
            return -1
        return len(records)

    def run_source(self, stop: threading.Event) -> None:
        """Drive a source task until it is exhausted or ``stop`` is set, then finish.

        Partial batches are flushed as soon as the source has nothing more right now, so
        latency follows the source's own pace; only an idle unbounded source waits (on
        ``stop``, with exponential back-off), never a producing one.
        """
        idle = _IDLE_MIN_S
        batch_size = self.batch_size
        while not stop.is_set():
            produced = self.source_step()
            if produced < 0:
                break
            if produced < batch_size:
                self.flush()
            if produced == 0:
                stop.wait(idle)
                idle = min(idle * 2, _IDLE_MAX_S)
            else:
                idle = _IDLE_MIN_S
        self.finish()

    def handle(self, channel: int, payload: Any) -> bool:
        """Process one inbox message; ``True`` once the task has finished."""
        if self.finished:
            return True
        if payload.__class__ is list:
            info = self._channels[channel]
            keyer = self._keyer_by_channel[channel]
            keys = None
            if keyer is not None:
                try:
                    keys = [keyer(r) for r in payload]
                except Exception as exc:
                    raise OperatorError(f"keyby->{self.ops[0].name}", exc,
                                        traceback.format_exc()) from exc
            self._run_chain(payload, info.port, keys)
            if info.in_loop and self.loop is not None:
                # outputs were counted when buffered, so the loop never looks idle early
                self.loop.done(len(payload))
            return False
        if payload is EOS:
            self._end_channel(channel)
        elif payload is LOOP_QUIESCENT:
            for c in self._channels:
                if c.feedback:
                    self._end_channel(c.number)
        return self.finished

    def _end_channel(self, channel: int) -> None:
        if channel in self._done:
            return
        self._done.add(channel)
        self._pending -= 1
        info = self._channels[channel]
        if not info.in_loop:
            self._external_pending -= 1
            if self._external_pending == 0 and self.loop is not None:
                self.flush()
                self.loop.external_done()
        if self._pending == 0:
            self.finish()

    def flush(self) -> None:
        """Send every partial micro-batch (call when the inbox is empty right now)."""
        for router in self.routers:
            router.flush()
        for router in self.dead_letter_routers.values():
            router.flush()

    def finish(self) -> None:
        """End of all inputs: close functions in chain order (a flatmap's ``close`` may
        still ``collect`` records for the rest of the chain), then send EOS downstream."""
        if self.finished:
            return
        for i, runner in enumerate(self.ops):
            leftovers = runner.close()
            if leftovers:
                self._run_chain(leftovers, 0, None, start=i + 1)
        self._closed = True
        for router in self.routers:
            router.send_eos()
        for router in self.dead_letter_routers.values():
            router.send_eos()
        self.finished = True

    def abort(self) -> None:
        """Best-effort ``close()`` of every opened function after a failure."""
        if self._closed:
            return
        self._closed = True
        for runner in self.ops:
            try:
                runner.fn.close()
            except Exception:  # noqa: BLE001 - already failing; keep the first error
                self.logger.debug("close failed during abort", exc_info=True)

    # -- metrics --------------------------------------------------------------------
    def metrics(self) -> dict[str, OperatorMetrics]:
        return {runner.name: runner.metrics for runner in self.ops}

    def for_driver(self) -> dict[str, list[Any]]:
        """Records a remote task kept for the driver's sinks (``on_driver`` kinds)."""
        return {runner.name: runner.fn.records for runner in self.ops
                if isinstance(runner.fn, DriverBuffer)}


class DriverBuffer(BaseFunction):
    """Stands in for an ``on_driver`` sink in a task outside the driver's process: keeps
    the records; the runtime hands them to the real sink in the driver at the end."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def execute(self, data: Any) -> None:
        self.records.append(data)


__all__ = ["EOS", "LOOP_QUIESCENT", "DriverBuffer", "EdgeRouter", "LoopTracker", "OperatorError",
           "TaskCore", "Transport"]
