"""The event loop: arrivals, completions and policy wake-ups on one heap.

Unified mode drives a :class:`RequestPolicy` exactly as the live
``ControlPlane`` does: on arrival ``admit`` then ``enqueue``; after every event
``schedule(engines, now)``, each :class:`Dispatch` counted in ``EngineState.in_flight``
and sent to its engine; on completion ``in_flight -= 1`` and ``on_complete``; and a
timer armed at ``next_wakeup`` (re-armed only when earlier, as the live loop does);
before every pass, queued requests whose deadline is lost are answered (refused,
counted as ``expired``) through the control plane's :class:`DeadlineExpiry`.
Two shortcuts, decision-neutral and switchable off with ``exact=True``: ``schedule`` is
skipped when the queue is empty or no engine has a free slot (it could only return
nothing then), and at a wake-up that changed nothing (no event and no expiry since the
last pass, earlier than the policy's ``unchanged_until`` after it: a finished request's
deadline, say), where that pass would decide as the last one did. Siloed mode has no control plane: each kind's clients spread requests
round robin over that kind's engines, which queue them themselves.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from sage.benchmark.serving.baselines import unified_name
from sage.benchmark.serving.metrics import ERROR, OK, REJECTED, Outcomes, summarize
from sage.benchmark.serving.workload import (
    KIND_EMBEDDING,
    KIND_LLM,
    Workload,
    WorkloadSpec,
)
from sage.benchmark.simulator.cluster import ClusterSpec
from sage.benchmark.simulator.engines import (
    ANSWERED,
    BATCH_WINDOW,
    DONE,
    Job,
    embedding_batches,
)
from sage.benchmark.simulator.prefix_cache import DEFAULT_CACHE_TOKENS
from sage.benchmark.simulator.profiles import Calibration
from sage.benchmark.simulator.prompt_hashes import PromptHashes
from sage.benchmark.simulator.result import SimResult, outcomes_of
from sage.benchmark.simulator.setup import (
    EMBEDDING_MODEL,
    LLM_MODEL,
    SimChatRequest,
    SimEmbeddingRequest,
    SimulationSetup,
)
from sage.llm.control_plane.expiry import DeadlineExpiry
from sage.llm.control_plane.policies import (
    RequestPolicy,
    get_policy,
)
from sage.llm.control_plane.types import Dispatch, Request, RequestKind

WAKE = 2
REPORT = 4  # engines report their prefix caches to a precise policy


class Simulation(SimulationSetup):
    """One simulated run of ``workload`` on ``cluster`` under ``policy`` (or siloed)."""

    def __init__(
        self,
        workload: Workload,
        calibration: Calibration,
        cluster: ClusterSpec | None = None,
        policy: str | RequestPolicy | None = "hybrid",
        *,
        spec: WorkloadSpec | None = None,
        policy_options: dict[str, Any] | None = None,
        max_queue: int = 1024,
        exact: bool = False,
        advertise_speeds: bool = True,
        prefix_cache_tokens: int = DEFAULT_CACHE_TOKENS,
        prompt_hashes: PromptHashes | None = None,
    ) -> None:
        self.workload = workload
        # The gateway's block hashes per chat (a replay passes the real texts' blocks).
        self.prompt_hashes = prompt_hashes or PromptHashes.of_workload(workload)
        self.prefix_cache_tokens = prefix_cache_tokens
        self.calibration = calibration
        self.cluster = cluster or ClusterSpec()
        self.spec = spec
        self.exact = exact
        self.siloed = policy is None or policy == "siloed"
        if self.siloed:
            self.policy: RequestPolicy | None = None
            self.baseline = "siloed"
        else:
            self.policy = (
                policy
                if isinstance(policy, RequestPolicy)
                else get_policy(str(policy), max_queue=max_queue, **(policy_options or {}))
            )
            self.baseline = unified_name(self.policy.name)
        self.overhead = 0.0 if self.siloed else calibration.gateway_overhead_s
        self._heap: list[tuple[float, int, int, Any, int]] = []
        self._seq = itertools.count()
        self._build_engines(advertise_speeds)
        self._timer_at: float | None = None
        self._timer_version = 0
        self._quiet = False  # no event since the last pass
        self._last = 0.0  # when the last pass ran
        self.expiry = DeadlineExpiry()  # the live control plane's deadline expiry
        self.expired_rows: list[int] = []
        self.events = 0
        self._prepare_rows()

    # -- the heap --------------------------------------------------------------------
    def push(self, when: float, code: int, payload: Any, version: int) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), code, payload, version))

    # -- control plane (unified) -------------------------------------------------------
    def _kick(self, now: float, woken: bool = False) -> None:
        policy = self.policy
        assert policy is not None
        quiet = (
            woken and self._quiet and self._wake_skip
            and now < policy.unchanged_until(self._last)  # of the state that pass left
        )  # fmt: skip
        n_queued = len(policy)
        if n_queued:  # lost deadlines answered before the pass, as the control plane does
            expired = self.expiry.due(policy, now)
            if expired:
                for request in expired:
                    self._expired(request)
                quiet, n_queued = False, len(policy)
        if quiet:  # a stale wake-up (a finished request's deadline): the last pass stands
            due = False
        elif self.exact:
            due = True
        elif self._kind_skip:
            queued, free = self._queued, self._free_by_kind
            due = bool((queued[0] and free[0]) or (queued[1] and free[1]))
        else:
            due = self._free > 0 and n_queued > 0
        if due:
            for dispatch in policy.schedule(self.states, now):
                self._dispatch(dispatch, now)
        if not quiet:
            self._last = now
        self._quiet = True
        wake = self.expiry.wake_at(policy.next_wakeup(now) if self._wakes else None, policy)
        if wake is not None and (self._timer_at is None or wake < self._timer_at - 1e-4):
            self._timer_at = wake
            self._timer_version += 1
            self.push(max(wake, now), WAKE, None, self._timer_version)

    def _expired(self, request: Request) -> None:
        """Answered 429 ``deadline_exceeded`` (a refusal, counted apart as ``expired``)."""
        row = request.payload
        self.outcome[row] = REJECTED
        self.expired_rows.append(row)
        self._queued[KIND_LLM if request.kind is not RequestKind.EMBEDDING else KIND_EMBEDDING] -= 1

    def _dispatch(self, dispatch: Dispatch, now: float) -> None:
        state = self._state_of[dispatch.engine_id]
        kind = self._kind_of_engine[dispatch.engine_id]
        if state.in_flight < state.capacity:
            self._free -= 1
            self._free_by_kind[kind] -= 1
        self.states.add_in_flight(state, 1)
        requests = dispatch.requests
        self._queued[kind] -= len(requests)
        tokens = self._tokens
        if len(requests) == 1:
            row = requests[0].payload
            job = Job([row], requests, requests[0].n_inputs, tokens[row], self._out[row])
            if self._prefix_of is not None:
                job.prefix = self._prefix_of[row]
        else:
            rows = [r.payload for r in requests]
            job = Job(
                rows,
                requests,
                sum(r.n_inputs for r in requests),
                max(tokens[r] for r in rows),
            )
        self._engine_of[dispatch.engine_id].submit(job, now)

    def _arrive_unified(self, row: int, now: float) -> None:
        kind = self._kind[row]
        tenant = self._tenant[row]
        rel = self._deadline[tenant][kind]
        request = (SimChatRequest if kind == KIND_LLM else SimEmbeddingRequest)(
            str(row),
            RequestKind.CHAT if kind == KIND_LLM else RequestKind.EMBEDDING,
            LLM_MODEL if kind == KIND_LLM else EMBEDDING_MODEL,
            self._tenant_names[tenant],
            self._priority[tenant],
            now,
            None if rel is None else now + rel,
            self._prompt[row],
            self._out[row],
            self._inputs[row],
            row,
            self._hashes(row),
        )
        policy = self.policy
        assert policy is not None
        if not self.pools[kind]:
            self.outcome[row] = ERROR
            return
        if not policy.admit(request, self.states, now):
            self.outcome[row] = REJECTED
            return
        policy.enqueue(request, now)
        self.expiry.track(request)
        self._queued[kind] += 1
        self._kick(now)

    # -- siloed ------------------------------------------------------------------------
    def _arrive_siloed(self, row: int, now: float) -> None:
        kind = self._kind[row]
        pool = self.pools[kind]
        if not pool:
            self.outcome[row] = ERROR
            return
        index = self._rr[kind]
        self._rr[kind] = (index + 1) % len(pool)
        job = Job([row], None, self._inputs[row], self._tokens[row], self._out[row])
        if self._prefix_of is not None:
            job.prefix = self._prefix_of[row]
        pool[index].submit(job, now)

    # -- completions -------------------------------------------------------------------
    def job_done(self, job: Job, now: float) -> None:
        arrival = self._t
        overhead = self.overhead
        for row in job.rows:
            self.outcome[row] = OK
            self.e2e[row] = now - arrival[row] + overhead
        if job.out:
            self.ttft[job.rows[0]] = job.ttft_at - arrival[job.rows[0]] + overhead
            self.cached[job.rows[0]] = job.cached
        if self.policy is None:
            return
        engine = job.engine
        assert engine is not None
        state = self._state_of[engine.id]
        self.states.add_in_flight(state, -1)
        if state.in_flight < state.capacity:
            self._free += 1
            self._free_by_kind[self._kind_of_engine[engine.id]] += 1
        if job.prefix is not None and job.tokens > 0:  # the usage a reply reports
            job.requests[0].reply_cache = (job.cached, int(job.tokens))
        for request in job.requests:
            self.policy.on_complete(request, engine.id, now, True)
        self._kick(now)

    # -- the loop ------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None = None) -> SimResult:
        """Simulate every request; ``progress(arrived, total)`` is called now and then."""
        w = self.workload
        self._t = w.t.tolist()
        self._kind = w.kind.tolist()
        self._tenant = w.tenant.tolist()
        self._tenant_names = list(w.tenants)
        # As the gateway estimates them: a chat's whole prompt (a prefix included), an
        # embedding's total over its inputs.
        prompt = w.prompt_tokens if w.prefix_tokens is None else w.prompt_tokens + w.prefix_tokens
        self._prompt = np.where(w.kind == KIND_LLM, prompt, w.n_inputs * w.prompt_tokens)
        self._prompt = self._prompt.tolist()
        self._out = w.output_tokens.tolist()
        self._inputs = w.n_inputs.tolist()
        self._tokens = self.engine_tokens.tolist()
        self._engine_of = {e.id: e for pool in self.pools.values() for e in pool}
        arrive = self._arrive_siloed if self.siloed else self._arrive_unified
        heap, pop = self._heap, heapq.heappop
        times, n, i = self._t, len(self._t), 0
        events = 0
        last = 0.0
        started = time.perf_counter()
        reports = self.reports
        if reports is not None:
            self.push(0.0, REPORT, None, 0)
        while i < n or heap:
            if heap and (i >= n or heap[0][0] <= times[i]):
                when, _, code, payload, version = pop(heap)
                events += 1
                if code != WAKE:
                    self._quiet = False  # (a pass after it sets it again)
                if code == DONE:
                    if version == payload.version:
                        payload.jobs[0].engine.timer(payload, when)
                        last = when
                elif code == WAKE:
                    if version == self._timer_version:
                        self._timer_at = None
                        self._kick(when, True)
                elif code == BATCH_WINDOW:
                    payload.window_closed(version, when)
                elif code == ANSWERED:
                    self.job_done(payload, when)
                    last = when
                elif code == REPORT and reports is not None:
                    reports.poll()
                    if i < n or heap:
                        self.push(when + reports.interval_s, REPORT, None, 0)
            else:
                events += 1
                self._quiet = False
                arrive(i, times[i])
                i += 1
                if progress is not None and not i & 0x3FFF:
                    progress(i, n)
        wall = time.perf_counter() - started
        self.events = events
        duration = max(last, self._t[-1] if n else 0.0)
        outcomes = self.outcomes()
        summary = summarize(outcomes, self._slos, duration)
        summary["embedding_batches"] = embedding_batches(self.pools[KIND_EMBEDDING])
        summary["expired"] = len(self.expired_rows)  # within ``rejected``
        config = {
            "baseline": self.baseline,
            "cluster": {
                "llm_engines": self.cluster.llm_engines,
                "embedding_engines": self.cluster.embedding_engines,
                "colocate": self.cluster.colocate,
                "embedding_capacity": self.cluster.embedding_capacity,
            },
            "policy": self.policy.describe() if self.policy else None,
            "exact": self.exact,
            "cache_reports": (
                None if reports is None else {"polls": reports.polls, "reports": reports.reports}
            ),
        }
        return SimResult(self.baseline, outcomes, summary, duration, wall, events, config)

    def outcomes(self) -> Outcomes:
        """Each request's outcome, latencies and tokens, as the live benchmark records them."""
        cached = None if self._prefix_of is None else self.cached
        return outcomes_of(
            self.workload, self.outcome, self.ttft, self.e2e, self.input_tokens, cached
        )


def simulate(
    workload: Workload,
    calibration: Calibration,
    cluster: ClusterSpec | None = None,
    policy: str | RequestPolicy | None = "hybrid",
    **options: Any,
) -> SimResult:
    """Run one simulation (see :class:`Simulation`) and return its result."""
    return Simulation(workload, calibration, cluster, policy, **options).run()
