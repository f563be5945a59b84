"""The live control plane: admit, queue, schedule, send, retry.

Event driven on one asyncio loop: every arrival, completion and policy wake-up runs
``policy.schedule`` once, and each returned :class:`Dispatch` becomes one call through the
:class:`EngineTransport`. The loop is this module; each other concern is a collaborator:

* :class:`EngineDirectory` (directory.py): engines, their states and model aliases;
* :class:`PolicyHolder` (policy_holder.py): the running policy and its hot swap;
* :class:`Admission` (admission.py): refusals and per-tenant rate limits;
* :class:`EngineTransport` (transport.py): HTTP calls, embedding batches, stream relay;
* :class:`HealthMonitor` (health.py): engines out of rotation and probed back in;
* :class:`Failover` (failover.py): a failed dispatch's requests retried or failed;
* :class:`InFlight` (inflight.py): running tasks; abandoned requests cancelled;
* :class:`SpeedEstimator` (speeds.py): engine speeds learned from relayed replies;
* :class:`QueueTimeouts` (queue_timeout.py), :class:`RequestFactory` (request_factory.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from sage.common.errors import ConfigError
from sage.common.logging import get_logger
from sage.llm.control_plane.admission import Admission
from sage.llm.control_plane.cache_reports import CacheReports
from sage.llm.control_plane.directory import EngineDirectory, default_model
from sage.llm.control_plane.engines import EngineEndpoint, normalize_url, parse_kinds
from sage.llm.control_plane.errors import NoHealthyEngineError
from sage.llm.control_plane.failover import Failover, fail
from sage.llm.control_plane.health import ControlPlaneObserver, HealthMonitor
from sage.llm.control_plane.inflight import InFlight
from sage.llm.control_plane.policies import RequestPolicy
from sage.llm.control_plane.policy_holder import PolicyHolder
from sage.llm.control_plane.queue_timeout import QueueTimeouts
from sage.llm.control_plane.rate_limit import TenantRateLimiter
from sage.llm.control_plane.request_factory import RequestFactory
from sage.llm.control_plane.speeds import SpeedEstimator
from sage.llm.control_plane.transport import (
    PATHS,
    EngineFailure,
    EngineReply,
    EngineTransport,
    Job,
)
from sage.llm.control_plane.types import Dispatch, EngineState, Request, RequestKind

if TYPE_CHECKING:
    from sage.llm.engines.spec import EngineInfo, EngineSpec

__all__ = ["PATHS", "ControlPlane", "ControlPlaneObserver", "EngineReply", "default_model"]

log = get_logger("sage.llm.control_plane")


class ControlPlane:
    """Queues requests under a swappable :class:`RequestPolicy` and runs them on engines."""

    def __init__(
        self,
        policy: str | RequestPolicy = "hybrid",
        *,
        max_queue: int = 1024,
        policy_options: dict[str, Any] | None = None,
        request_timeout_s: float = 600.0,
        max_attempts: int = 3,
        health_interval_s: float = 0.5,
        engine_down_grace_s: float = 10.0,
        on_engine_down: Callable[[str], Awaitable[Any] | Any] | None = None,
        observer: ControlPlaneObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        learn_speeds: bool = True,
        max_queue_wait_s: float | None = None,
    ) -> None:
        self.max_queue = max_queue
        self.clock = clock
        self.policies = PolicyHolder(policy, max_queue=max_queue, options=policy_options)
        self.directory = EngineDirectory()
        self.admission = Admission(engine_down_grace_s=engine_down_grace_s)
        # Speeds learned from replies (for deadline-aware policies); None: not learned.
        self.speeds = SpeedEstimator() if learn_speeds else None
        self.transport = EngineTransport(request_timeout_s, self.speeds)
        self.inflight = InFlight()
        self.health = HealthMonitor(
            self.directory,
            self.probe,
            interval_s=health_interval_s,
            on_down=self._sweep,
            on_up=self._kick,
            spawn=self.inflight.spawn,
            on_engine_down=on_engine_down,
            observer=observer,
        )
        self.failover = Failover(
            self.directory,
            self.policies,
            self.health,
            max_attempts=max_attempts,
            engine_down_grace_s=engine_down_grace_s,
        )
        self.cache_reports = CacheReports(self.directory, lambda: self.policy)  # precise mode
        self.queue_timeouts = QueueTimeouts(max_queue_wait_s, lambda: self.policy)
        self.new_request = RequestFactory(clock, self.directory.resolve_model)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._closed = False

    # -- collaborators' settings, as attributes -----------------------------------------
    @property
    def policy(self) -> RequestPolicy:
        return self.policies.policy

    @property
    def rate_limiter(self) -> TenantRateLimiter:
        return self.admission.rate_limiter

    @property
    def observer(self) -> ControlPlaneObserver | None:
        return self.health.observer

    @observer.setter
    def observer(self, observer: ControlPlaneObserver | None) -> None:
        self.health.observer = observer

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        await self.transport.open()
        self.health.start()
        self.cache_reports.start()

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
        self.health.stop()
        await self.cache_reports.stop()
        for request in self.policy.pending():
            self.policy.remove(request.id)
            fail(request, NoHealthyEngineError("the control plane is shutting down"))
        await self.inflight.cancel_all()
        await self.transport.close()

    async def __aenter__(self) -> ControlPlane:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- engines -----------------------------------------------------------------------
    def add_engine(
        self,
        url: str,
        *,
        kind: str | Iterable[str] = "llm",
        models: Iterable[str] | str = (),
        engine_id: str | None = None,
        capacity: int = 1,
        max_batch: int = 64,
        healthy: bool = True,
        info: EngineInfo | None = None,
        api_key: str | None = None,
        device_group: str = "",
        **speeds: float,
    ) -> EngineEndpoint:
        """Register an engine (replacing one with the same id); returns its endpoint.

        ``api_key``: sent to the engine as ``Authorization: Bearer`` (external engines);
        ``device_group``: engines with the same group share hardware; ``speeds``
        (``decode_tokens_per_s``...): declared figures, never overwritten by learned ones.
        """
        state = EngineState(
            id=engine_id or self.directory.new_id(),
            kinds=parse_kinds(kind if isinstance(kind, str) else tuple(kind)),
            models=frozenset([models] if isinstance(models, str) else models),
            capacity=max(1, int(capacity)),
            max_batch=max(1, int(max_batch)),
            healthy=healthy,
            device_group=device_group,
            **speeds,
        )
        if state.id in self.directory:
            self.remove_engine(state.id)
        endpoint = self.directory.add(EngineEndpoint(normalize_url(url), state, info, api_key))
        if self.speeds is not None:
            self.speeds.register(state)
        self.health.report(endpoint.id, healthy)
        self._kick()
        return endpoint

    def add_engine_spec(
        self,
        spec: EngineSpec,
        *,
        url: str | None = None,
        engine_id: str | None = None,
        healthy: bool = True,
        info: EngineInfo | None = None,
    ) -> EngineEndpoint:
        """Register the engine ``spec`` describes, at ``url`` (default ``spec.url``)."""
        where = url or spec.url
        if not where:
            raise ConfigError("an engine needs a URL")
        return self.add_engine(
            where,
            kind=spec.kind,
            models=spec.models,
            engine_id=engine_id,
            capacity=spec.capacity,
            max_batch=spec.max_batch,
            healthy=healthy,
            info=info,
            api_key=spec.api_key,
            device_group=spec.device_group,
        )

    def add_engine_info(self, info: EngineInfo) -> EngineEndpoint:
        """Register an engine the engine manager runs (or knows by URL)."""
        return self.add_engine_spec(
            info.spec, url=info.url, engine_id=info.id, healthy=info.healthy, info=info
        )

    def remove_engine(self, engine_id: str) -> bool:
        if self.directory.remove(engine_id) is None:
            return False
        if self.speeds is not None:
            self.speeds.forget(engine_id)
        self._sweep()
        return True

    def engines(self) -> list[EngineEndpoint]:
        return self.directory.endpoints()

    def models(self) -> list[dict[str, Any]]:
        """Every model a registered engine serves, OpenAI ``/v1/models`` style."""
        return self.directory.models()

    def resolve_model(self, kind: RequestKind, model: str | None) -> str:
        """The canonical model name for ``model`` (``None``/"default": :func:`default_model`)."""
        return self.directory.resolve_model(kind, model)

    def snapshot(self) -> list[EngineState]:
        """Copies of the engine states (for metrics and admin views)."""
        return self.directory.snapshot()

    # -- policy ---------------------------------------------------------------------------
    def set_policy(
        self, policy: str | RequestPolicy, *, reset: bool = False, **options: Any
    ) -> RequestPolicy:
        """Swap the policy at run time; pending requests move to the new one in order.

        ``options`` are merged over the ones this policy was given before, so changing
        one option (or switching away and back) keeps the others; ``reset`` starts from
        the policy's defaults. A bad name or option raises and leaves the policy running.
        """
        new = self.policies.swap(policy, self.clock(), reset=reset, **options)
        self._kick()
        return new

    def queue_depth(self) -> int:
        return len(self.policy)

    # -- requests -------------------------------------------------------------------------
    async def submit(
        self,
        request: Request,
        body: bytes | dict[str, Any],
        *,
        stream: bool = False,
        inputs: list[Any] | None = None,
    ) -> EngineReply:
        """Admit, queue and await ``request``; raises the refusal errors of ``errors``."""
        if self._closed:
            raise NoHealthyEngineError("the control plane is shut down")
        now = self.clock()
        self.admission.check(request, self.policy, self.directory.states, now)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        extra: dict[str, Any] = {}
        if inputs is not None and isinstance(body, dict):
            extra = {k: v for k, v in body.items() if k not in {"input", "model", "user"}}
        future: asyncio.Future[EngineReply] = asyncio.get_running_loop().create_future()
        request.payload = Job(raw, stream, future, inputs, extra)
        self.queue_timeouts.arm(request, future)
        self.policy.enqueue(request, now)
        self._kick()
        if not self.directory.can_serve(request):  # its engine is down: wait in the grace
            self._sweep()
        return await self.inflight.wait(request, self.policy)

    # -- scheduling loop --------------------------------------------------------------------
    def _kick(self) -> None:
        if self._closed or not self.transport.is_open:
            return
        now = self.clock()
        self.queue_timeouts.expire_due(now)  # lost deadlines: answered, never sent
        for dispatch in self.policy.schedule(self.directory.states, now):
            self._start(dispatch)
        wake = self.queue_timeouts.wake_at(self.policy.next_wakeup(now))
        if wake is not None and (self._timer_at is None or wake < self._timer_at - 1e-4):
            if self._timer is not None:
                self._timer.cancel()
            loop = asyncio.get_running_loop()
            self._timer_at = wake
            self._timer = loop.call_later(max(0.0, wake - now), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._kick()

    def _start(self, dispatch: Dispatch) -> None:
        endpoint = self.directory[dispatch.engine_id]
        endpoint.state.in_flight += 1
        live = [r for r in dispatch.requests if not r.payload.future.done()]
        if self.observer:
            self.observer.dispatched(endpoint.id, dispatch.requests)
        self.inflight.track(self.inflight.spawn(self._run(endpoint, live)), live)

    async def _run(self, endpoint: EngineEndpoint, requests: list[Request]) -> None:
        held = False  # a stream keeps the slot until its consumer is done
        ok = False
        try:
            if not requests:
                return
            if len(requests) > 1:
                await self.transport.call_batch(endpoint, requests)
            elif requests[0].payload.stream:
                held = await self.transport.call_stream(
                    endpoint,
                    requests[0],
                    on_done=lambda: self._finish(endpoint, requests, True),
                    on_broken=lambda: self.mark_unhealthy(endpoint.id),
                )
            else:
                await self.transport.call_once(endpoint, requests[0])
            ok = True
            endpoint.failures = 0
        except EngineFailure as failure:
            self.failover.engine_failed(endpoint, requests, failure, self.clock())
            self._sweep()
        except asyncio.CancelledError:
            ok = all(r.payload.future.cancelled() for r in requests)  # abandoned: no fault
            raise
        except Exception as exc:  # a bug or an odd reply: fail the request, keep serving
            log.exception("dispatch to %s failed", endpoint.id)
            for request in requests:
                fail(request, exc)
        finally:
            if not held:
                self._finish(endpoint, requests, ok)

    def _finish(self, endpoint: EngineEndpoint, requests: list[Request], ok: bool) -> None:
        endpoint.state.in_flight = max(0, endpoint.state.in_flight - 1)
        now = self.clock()
        for request in requests:
            self.policy.on_complete(request, endpoint.id, now, ok)
        self._kick()

    # -- health -------------------------------------------------------------------------------
    def _sweep(self) -> None:
        """Fail queued requests no engine can serve that may not wait for a down one;
        come back when the next waiting one's grace runs out."""
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
            self._sweep_timer = None
        now = self.clock()
        wake = self.failover.fail_unservable(now)
        if wake is not None and not self._closed:
            loop = asyncio.get_running_loop()
            self._sweep_timer = loop.call_later(max(0.0, wake - now) + 1e-3, self._sweep)

    def mark_unhealthy(self, engine_id: str) -> None:
        """The engine is down: fail what only it could serve, and tell the manager."""
        self.health.mark_unhealthy(engine_id)

    def mark_healthy(self, engine_id: str, url: str | None = None) -> None:
        self.health.mark_healthy(engine_id, url)

    async def probe(self, endpoint: EngineEndpoint) -> bool:
        return self.transport.is_open and await self.transport.probe(endpoint)
