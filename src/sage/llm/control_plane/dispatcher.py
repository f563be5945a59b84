"""The live control plane: admission, the scheduling loop and calls to engines.

Event driven on one asyncio loop: every arrival, completion and policy wake-up runs
``policy.schedule`` once, and each returned :class:`Dispatch` becomes one HTTP call on
one shared, pooled ``aiohttp.ClientSession`` (measured ~6x less CPU per call than
``httpx.AsyncClient`` here, and that CPU is most of the gateway's overhead). Embedding
micro-batches are merged into one ``/v1/embeddings`` call and split back per request.
Streaming replies are handed to the caller chunk by chunk; the engine slot stays taken
until the stream ends. An engine that drops a connection (or answers 5xx) before the
first byte, and then fails a health probe, is marked unhealthy and the request is
retried elsewhere, or fails with a clean 503; one that passes the probe keeps serving and
the request is retried (a pooled connection lost to an idle close).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp

from sage.common.logging import get_logger
from sage.common.ports import CLIENT_POOL_IDLE_S
from sage.llm.control_plane.batching import merge_inputs, split_embeddings
from sage.llm.control_plane.engines import (
    EngineEndpoint,
    model_aliases,
    normalize_url,
    parse_kinds,
)
from sage.llm.control_plane.errors import (
    DeadlineUnmeetableError,
    NoHealthyEngineError,
    OverloadedError,
    UnknownModelError,
)
from sage.llm.control_plane.policies import SchedulingPolicy, get_policy
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.rate_limit import TenantRateLimiter
from sage.llm.control_plane.types import Dispatch, EngineState, Request, RequestKind
from sage.llm.openai_errors import OpenAIError
from sage.llm.sse import sse_error

if TYPE_CHECKING:
    from sage.llm.engines.spec import EngineInfo, EngineSpec

log = get_logger("sage.llm.control_plane")

PATHS = {
    RequestKind.CHAT: "/v1/chat/completions",
    RequestKind.COMPLETION: "/v1/completions",
    RequestKind.EMBEDDING: "/v1/embeddings",
}
# An engine that drops the connection or stops answering before it replied.
_TRANSPORT_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError)


class ControlPlaneObserver(Protocol):
    """What the dispatcher reports (the gateway turns it into Prometheus metrics)."""

    def dispatched(self, engine_id: str, requests: list[Request]) -> None: ...

    def engine_health(self, engine_id: str, healthy: bool) -> None: ...


@dataclass
class EngineReply:
    """An engine's answer to one request: a whole body or a stream of raw chunks."""

    status: int
    body: bytes = b""
    media_type: str = "application/json"
    stream: AsyncIterator[bytes] | None = None
    engine_id: str = ""
    _release: Callable[[], None] | None = field(default=None, repr=False)

    def json(self) -> Any:
        return json.loads(self.body)

    def release(self) -> None:
        """Free the engine slot of an unconsumed stream (idempotent)."""
        if self._release is not None:
            release, self._release = self._release, None
            release()


@dataclass(eq=False)
class _Job:
    """The dispatcher's side of a queued request (``Request.payload``)."""

    body: bytes
    stream: bool
    future: asyncio.Future[EngineReply]
    inputs: list[Any] | None = None  # embedding inputs, for batching
    extra: dict[str, Any] = field(default_factory=dict)  # embedding options kept on merge
    attempts: int = 0


class _Retry(Exception):
    """The engine failed before answering; try the request again (elsewhere if it is down)."""

    def __init__(self, reason: str, engine_down: bool, reply: EngineReply | None = None) -> None:
        super().__init__(reason)
        self.engine_down = engine_down
        self.reply = reply  # the engine's own error, returned if no retry is left


def default_model(engine_kind: str, engines: list[EngineState]) -> str:
    """What ``"default"`` means for ``engine_kind``: a specialist engine's model first; on
    an engine serving both kinds (it lists both kinds' names), names that say "embed" are
    taken for embeddings and the others for LLM calls. Ties: alphabetical."""

    def rank(state: EngineState, name: str) -> tuple[bool, bool, str]:
        fits = ("embed" in name.lower()) == (engine_kind == "embedding")
        return (len(state.kinds) > 1, not fits, name)

    return min(rank(s, m) for s in engines for m in s.models)[2]


class ControlPlane:
    """Queues requests under a swappable :class:`SchedulingPolicy` and runs them on engines."""

    def __init__(
        self,
        policy: str | SchedulingPolicy = "hybrid",
        *,
        max_queue: int = 1024,
        policy_options: dict[str, Any] | None = None,
        request_timeout_s: float = 600.0,
        max_attempts: int = 3,
        health_interval_s: float = 0.5,
        on_engine_down: Callable[[str], Awaitable[Any] | Any] | None = None,
        observer: ControlPlaneObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_queue = max_queue
        self.clock = clock
        self.max_attempts = max_attempts
        self.health_interval_s = health_interval_s
        self.on_engine_down = on_engine_down
        self.observer = observer
        self.rate_limiter = TenantRateLimiter()
        # Options each policy was last given, by name: switching back keeps them.
        self._policy_options: dict[str, dict[str, Any]] = {}
        if isinstance(policy, SchedulingPolicy):
            self.policy = policy
        else:
            self.policy = get_policy(policy, max_queue=max_queue, **(policy_options or {}))
            self._policy_options[policy] = dict(policy_options or {})
        self._engines: dict[str, EngineEndpoint] = {}
        self._states = EnginePool()  # indexed: policies place without scanning it
        self._aliases: dict[str, dict[str, str]] = {"llm": {}, "embedding": {}}
        self._ids = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._health_task: asyncio.Task[None] | None = None
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=5.0, sock_read=request_timeout_s
        )
        self._client: aiohttp.ClientSession | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        if self._client is None:
            # No connection cap here: per-engine capacity is enforced by the policies.
            self._client = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=CLIENT_POOL_IDLE_S),
            )
        if self._health_task is None:
            self._health_task = asyncio.get_running_loop().create_task(self._health_loop())

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        if self._health_task is not None:
            self._health_task.cancel()
        for request in self.policy.pending():
            self.policy.remove(request.id)
            self._fail(request, NoHealthyEngineError("the control plane is shutting down"))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> ControlPlane:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- engines -----------------------------------------------------------------
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
        **speeds: float,
    ) -> EngineEndpoint:
        """Register an engine (replacing one with the same id); returns its endpoint.

        ``api_key``: sent to the engine as ``Authorization: Bearer`` (external engines).
        """
        kinds = parse_kinds(kind if isinstance(kind, str) else tuple(kind))
        model_set = frozenset([models] if isinstance(models, str) else models)
        engine_id = engine_id or f"engine-{next(self._ids)}"
        if engine_id in self._engines:
            self.remove_engine(engine_id)
        state = EngineState(
            id=engine_id,
            kinds=kinds,
            models=model_set,
            capacity=max(1, int(capacity)),
            max_batch=max(1, int(max_batch)),
            healthy=healthy,
            **speeds,
        )
        endpoint = EngineEndpoint(normalize_url(url), state, info, api_key)
        self._engines[engine_id] = endpoint
        self._states.append(state)
        self._rebuild_aliases()
        if self.observer:
            self.observer.engine_health(engine_id, healthy)
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
            raise ValueError("an engine needs a URL")
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
        )

    def add_engine_info(self, info: EngineInfo) -> EngineEndpoint:
        """Register an engine the engine manager runs (or knows by URL)."""
        return self.add_engine_spec(
            info.spec, url=info.url, engine_id=info.id, healthy=info.healthy, info=info
        )

    def remove_engine(self, engine_id: str) -> bool:
        endpoint = self._engines.pop(engine_id, None)
        if endpoint is None:
            return False
        self._states = EnginePool(s for s in self._states if s.id != engine_id)
        self._rebuild_aliases()
        self._fail_unservable()
        return True

    def engines(self) -> list[EngineEndpoint]:
        return list(self._engines.values())

    def _rebuild_aliases(self) -> None:
        aliases: dict[str, dict[str, str]] = {"llm": {}, "embedding": {}}
        for state in self._states:
            for kind in state.kinds:
                for model in sorted(state.models):
                    for alias in model_aliases(model):
                        aliases[kind].setdefault(alias, model)
        self._aliases = aliases

    def models(self) -> list[dict[str, Any]]:
        """Every model a registered engine serves, OpenAI ``/v1/models`` style."""
        seen: dict[str, dict[str, Any]] = {}
        for state in self._states:
            for model in sorted(state.models):
                entry = seen.setdefault(
                    model,
                    {
                        "id": model,
                        "object": "model",
                        "created": 0,
                        "owned_by": "sage",
                        "kinds": set(),
                        "healthy": False,
                    },
                )
                entry["kinds"] |= state.kinds
                entry["healthy"] = entry["healthy"] or state.healthy
        return [{**m, "kinds": sorted(m["kinds"])} for m in seen.values()]

    def resolve_model(self, kind: RequestKind, model: str | None) -> str:
        """The canonical model name for ``model`` (``None``/"default": :func:`default_model`)."""
        aliases = self._aliases[kind.engine_kind]
        if not model or model == "default":
            named = [s for s in self._states if kind.engine_kind in s.kinds and s.models]
            if named:
                return default_model(kind.engine_kind, named)
            if any(kind.engine_kind in s.kinds for s in self._states):
                return model or "default"  # engines of this kind serve anything
            raise NoHealthyEngineError(f"no {kind.engine_kind} engine is registered")
        canonical = aliases.get(model)
        if canonical is not None:
            return canonical
        if any(kind.engine_kind in s.kinds and not s.models for s in self._states):
            return model
        raise UnknownModelError(f"model {model!r} is not served here")

    # -- policy -------------------------------------------------------------------
    def set_policy(
        self, policy: str | SchedulingPolicy, *, reset: bool = False, **options: Any
    ) -> SchedulingPolicy:
        """Swap the policy at run time; pending requests move to the new one in order.

        ``options`` are merged over the ones this policy was given before, so changing
        one option (or switching away and back) keeps the others; ``reset`` starts from
        the policy's defaults.
        """
        if isinstance(policy, SchedulingPolicy):
            new = policy
        else:
            merged = {} if reset else dict(self._policy_options.get(policy, {}))
            merged.update(options)
            new = get_policy(policy, max_queue=self.max_queue, **merged)
            self._policy_options[policy] = merged
        old, now = self.policy, self.clock()
        moved = sorted(old.pending(), key=lambda r: r.arrival)
        for request in moved:
            old.remove(request.id)
            new.enqueue(request, now)
        self.policy = new
        log.info("policy %s -> %s (%d pending moved)", old.name, new.name, len(moved))
        self._kick()
        return new

    def queue_depth(self) -> int:
        return len(self.policy)

    # -- requests -------------------------------------------------------------------
    def new_request(
        self,
        kind: RequestKind,
        model: str | None,
        *,
        tenant: str = "default",
        priority: int = 0,
        deadline_s: float | None = None,
        prompt_tokens: int = 0,
        max_tokens: int = 0,
        n_inputs: int = 1,
    ) -> Request:
        """A :class:`Request` stamped with this control plane's clock and model names."""
        now = self.clock()
        return Request(
            id=f"req-{next(self._ids)}",
            kind=kind,
            model=self.resolve_model(kind, model),
            tenant=tenant,
            priority=priority,
            arrival=now,
            deadline=None if deadline_s is None else now + deadline_s,
            prompt_tokens=prompt_tokens,
            max_tokens=max_tokens,
            n_inputs=n_inputs,
        )

    async def submit(
        self,
        request: Request,
        body: bytes | dict[str, Any],
        *,
        stream: bool = False,
        inputs: list[Any] | None = None,
    ) -> EngineReply:
        """Admit, queue and await ``request``; raises the refusal errors of this module."""
        if self._closed:
            raise NoHealthyEngineError("the control plane is shut down")
        if not any(s.can_serve(request) for s in self._states):
            raise NoHealthyEngineError(
                f"no healthy {request.engine_kind} engine can serve model {request.model!r}"
            )
        now = self.clock()
        if not self.policy.admit(request, self._states, now):  # no side effects
            if request.deadline is not None and len(self.policy) < self.policy.max_queue:
                raise DeadlineUnmeetableError("the request's deadline cannot be met", 1.0)
            # The whole queue, or the policy's share for this tenant, is full.
            raise OverloadedError(f"the request queue is full ({self.policy.name})", 1.0)
        wait = self.rate_limiter.check(request.tenant, now)  # takes a token: admitted only
        if wait is not None:
            raise OverloadedError(f"rate limit exceeded for tenant {request.tenant!r}", wait)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        extra: dict[str, Any] = {}
        if inputs is not None and isinstance(body, dict):
            extra = {k: v for k, v in body.items() if k not in {"input", "model", "user"}}
        future: asyncio.Future[EngineReply] = asyncio.get_running_loop().create_future()
        request.payload = _Job(raw, stream, future, inputs, extra)
        self.policy.enqueue(request, now)
        self._kick()
        try:
            return await future
        except asyncio.CancelledError:
            gone = self.policy.remove(request.id) is None
            if gone and future.done() and not future.cancelled() and future.exception() is None:
                future.result().release()
            raise

    # -- scheduling loop -----------------------------------------------------------
    def _kick(self) -> None:
        if self._closed or self._client is None:
            return
        now = self.clock()
        for dispatch in self.policy.schedule(self._states, now):
            self._start(dispatch)
        wake = self.policy.next_wakeup(now)
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
        endpoint = self._engines[dispatch.engine_id]
        endpoint.state.in_flight += 1
        live = [r for r in dispatch.requests if not r.payload.future.done()]
        if self.observer:
            self.observer.dispatched(endpoint.id, dispatch.requests)
        task = asyncio.get_running_loop().create_task(self._run(endpoint, live))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, endpoint: EngineEndpoint, requests: list[Request]) -> None:
        held = False  # a stream keeps the slot until its consumer is done
        ok = False
        try:
            if not requests:
                return
            if len(requests) > 1:
                await self._call_batch(endpoint, requests)
            elif requests[0].payload.stream:
                held = await self._call_stream(endpoint, requests[0])
            else:
                await self._call_once(endpoint, requests[0])
            ok = True
            endpoint.failures = 0
        except _Retry as retry:
            self._engine_failed(endpoint, requests, retry)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or an odd reply: fail the request, keep serving
            log.exception("dispatch to %s failed", endpoint.id)
            for request in requests:
                self._fail(request, exc)
        finally:
            if not held:
                self._finish(endpoint, requests, ok)

    def _finish(self, endpoint: EngineEndpoint, requests: list[Request], ok: bool) -> None:
        endpoint.state.in_flight = max(0, endpoint.state.in_flight - 1)
        now = self.clock()
        for request in requests:
            self.policy.on_complete(request, endpoint.id, now, ok)
        self._kick()

    async def _post(self, endpoint: EngineEndpoint, path: str, body: bytes) -> EngineReply:
        """POST ``body``; a reply below 500 or :class:`_Retry`."""
        assert self._client is not None
        try:
            async with self._client.post(
                endpoint.url + path, data=body, headers=endpoint.headers
            ) as resp:
                content = await resp.read()
                status = resp.status
                media = resp.headers.get("content-type", "application/json")
        except _TRANSPORT_ERRORS as exc:
            raise await self._dropped(endpoint, exc) from exc
        reply = EngineReply(status, content, media, engine_id=endpoint.id)
        if status >= 500:
            raise _Retry(f"engine answered {status}", False, reply)
        return reply

    async def _call_once(self, endpoint: EngineEndpoint, request: Request) -> None:
        job: _Job = request.payload
        reply = await self._post(endpoint, PATHS[request.kind], job.body)
        if not job.future.done():
            job.future.set_result(reply)

    async def _call_batch(self, endpoint: EngineEndpoint, requests: list[Request]) -> None:
        """Merged ``/v1/embeddings`` calls, split back per request in input order.

        Requests asking for different options (``encoding_format``, ``dimensions``...)
        cannot share a call: each group of equal options gets its own.
        """
        groups: dict[str, list[Request]] = {}
        for request in requests:
            key = json.dumps(request.payload.extra, sort_keys=True, default=str)
            groups.setdefault(key, []).append(request)
        for group in groups.values():
            await self._call_merged(endpoint, group)

    async def _call_merged(self, endpoint: EngineEndpoint, requests: list[Request]) -> None:
        jobs: list[_Job] = [r.payload for r in requests]
        parts = [job.inputs or [] for job in jobs]
        body = {**jobs[0].extra, "model": requests[0].model, "input": merge_inputs(parts)}
        response = await self._post(
            endpoint, PATHS[RequestKind.EMBEDDING], json.dumps(body).encode()
        )
        if response.status != 200:
            if len(requests) == 1:  # the engine's answer to exactly this request
                if not jobs[0].future.done():
                    jobs[0].future.set_result(response)
                return
            # One bad input spoils the batch: rerun each request alone to isolate it.
            for request in requests:
                await self._call_once(endpoint, request)
            return
        replies = split_embeddings(response.body, [len(p) for p in parts], requests[0].model)
        for job, reply in zip(jobs, replies, strict=True):
            if not job.future.done():
                job.future.set_result(EngineReply(200, reply, engine_id=endpoint.id))

    async def _call_stream(self, endpoint: EngineEndpoint, request: Request) -> bool:
        """Open the engine stream and hand it over at the first chunk; True if handed over."""
        assert self._client is not None
        job: _Job = request.payload
        url = endpoint.url + PATHS[request.kind]
        try:
            response = await self._client.post(url, data=job.body, headers=endpoint.headers)
        except _TRANSPORT_ERRORS as exc:
            raise await self._dropped(endpoint, exc) from exc
        try:
            if response.status >= 500:
                media = response.headers.get("content-type", "application/json")
                body = await response.read()
                reply = EngineReply(response.status, body, media, engine_id=endpoint.id)
                raise _Retry(f"engine answered {response.status}", False, reply)
            try:
                first = await response.content.readany()
            except _TRANSPORT_ERRORS as exc:
                raise await self._dropped(endpoint, exc) from exc
        except BaseException:
            response.close()
            raise
        if job.future.done():  # the client left while we were connecting
            response.close()
            return False

        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                if response.content.at_eof():
                    response.release()  # the connection goes back to the pool
                else:
                    response.close()  # abandoned midway: the connection is unusable
                self._finish(endpoint, [request], True)

        async def relay() -> AsyncIterator[bytes]:
            try:
                chunk = first
                while chunk:
                    yield chunk
                    chunk = await response.content.readany()
            except _TRANSPORT_ERRORS as exc:
                # Too late to retry: tell the client in-band, as OpenAI streams do.
                log.warning("engine %s dropped a stream midway", endpoint.id)
                self.mark_unhealthy(endpoint.id)
                message = f"engine failed mid-stream: {type(exc).__name__}"
                yield sse_error(OpenAIError(502, message, code="engine_failed"))
            finally:
                release()

        media = response.headers.get("content-type", "text/event-stream")
        job.future.set_result(
            EngineReply(
                response.status,
                media_type=media,
                stream=relay(),
                engine_id=endpoint.id,
                _release=release,
            )
        )
        return True

    # -- failures -------------------------------------------------------------------
    async def _dropped(self, endpoint: EngineEndpoint, exc: BaseException) -> _Retry:
        """A dropped connection means a dead engine only if the engine then fails a probe.
        A live one drops a pooled connection it closed while idle just as it is reused
        (one call in 24 benchmark runs): that request deserves another try, and the
        engine stays in rotation. A timeout is a hung engine: no probe."""
        alive = (
            not isinstance(exc, TimeoutError)
            and self._client is not None
            and not self._client.closed
            and await self.probe(endpoint)
        )
        return _Retry(f"{type(exc).__name__}: {exc}", engine_down=not alive)

    def _fail(self, request: Request, exc: BaseException) -> None:
        future = request.payload.future if isinstance(request.payload, _Job) else None
        if future is not None and not future.done():
            future.set_exception(exc)

    def _engine_failed(
        self, endpoint: EngineEndpoint, requests: list[Request], retry: _Retry
    ) -> None:
        endpoint.failures += 1
        log.warning(
            "engine %s failed (%s); retrying %d request(s)", endpoint.id, retry, len(requests)
        )
        if retry.engine_down:
            self.mark_unhealthy(endpoint.id)
        elif retry.reply is not None and any(
            s.id != endpoint.id and s.can_serve(r) for s in self._states for r in requests
        ):
            # It answered 5xx: out of rotation until it passes a health probe, so the
            # retry goes to another engine (no restart: the process is alive).
            self._take_out(endpoint)
        now = self.clock()
        for request in requests:
            job: _Job = request.payload
            job.attempts += 1
            if job.future.done():
                continue
            if job.attempts >= self.max_attempts and retry.reply is not None:
                job.future.set_result(retry.reply)  # the engine's own error, as is
            elif job.attempts >= self.max_attempts:
                self._fail(
                    request, NoHealthyEngineError(f"engines failed {job.attempts} times: {retry}")
                )
            elif not any(s.can_serve(request) for s in self._states):
                self._fail(
                    request,
                    NoHealthyEngineError(
                        f"engine {endpoint.id} failed and no other healthy engine serves "
                        f"{request.model!r}"
                    ),
                )
            else:
                self.policy.enqueue(request, now)

    def _take_out(self, endpoint: EngineEndpoint) -> bool:
        """Stop dispatching to ``endpoint`` until the health loop sees it answer again."""
        if not endpoint.state.healthy:
            return False
        endpoint.state.healthy = False
        if self.observer:
            self.observer.engine_health(endpoint.id, False)
        return True

    def mark_unhealthy(self, engine_id: str) -> None:
        """The engine is down: fail what only it could serve, and tell the manager."""
        endpoint = self._engines.get(engine_id)
        if endpoint is None or not self._take_out(endpoint):
            return
        self._fail_unservable()
        if self.on_engine_down is not None:
            try:
                result = self.on_engine_down(engine_id)
                if asyncio.iscoroutine(result):
                    task = asyncio.get_running_loop().create_task(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            except Exception:
                log.exception("engine-down hook failed for %s", engine_id)

    def mark_healthy(self, engine_id: str, url: str | None = None) -> None:
        endpoint = self._engines.get(engine_id)
        if endpoint is None:
            return
        if url:
            endpoint.url = normalize_url(url)
        if not endpoint.state.healthy:
            endpoint.state.healthy = True
            endpoint.state.in_flight = (
                0 if endpoint.state.in_flight < 0 else endpoint.state.in_flight
            )
            if self.observer:
                self.observer.engine_health(engine_id, True)
            log.info("engine %s is healthy again", engine_id)
        self._kick()

    def _fail_unservable(self) -> None:
        for request in self.policy.pending():
            if not any(s.can_serve(request) for s in self._states):
                self.policy.remove(request.id)
                self._fail(
                    request,
                    NoHealthyEngineError(
                        f"no healthy {request.engine_kind} engine can serve {request.model!r}"
                    ),
                )

    async def _health_loop(self) -> None:
        """Probe unhealthy engines until they answer again (restarts, transient faults)."""
        while True:
            await asyncio.sleep(self.health_interval_s)
            for endpoint in list(self._engines.values()):
                if endpoint.state.healthy or self._client is None:
                    continue
                if await self.probe(endpoint):
                    self.mark_healthy(endpoint.id)

    async def probe(self, endpoint: EngineEndpoint) -> bool:
        assert self._client is not None
        info = endpoint.info
        if info is not None and getattr(info, "url", None):
            endpoint.url = normalize_url(str(info.url))  # a restart may move the port
        for path in ("/health", "/v1/models"):
            try:
                async with self._client.get(
                    endpoint.url + path,
                    headers=endpoint.headers,
                    timeout=aiohttp.ClientTimeout(total=2.0),
                ) as response:
                    if response.status == 200:
                        return True
            except (aiohttp.ClientError, TimeoutError):
                return False
        return False

    def snapshot(self) -> list[EngineState]:
        """Copies of the engine states (for metrics and admin views)."""
        return [replace(s) for s in self._states]
