"""Modelled engines: what each real engine does with the calls it receives.

They mirror the engines shipped in :mod:`sage.llm.engines`, so one model serves both
the siloed baseline (clients call engines directly) and the unified one (the gateway
calls them, at most ``capacity`` at a time):

* :class:`SimLLMEngine`: ``slots`` sequences at once, the rest wait FIFO (llama.cpp
  slots behind an ``asyncio.Queue``);
* :class:`SimEmbeddingEngine`: one batch at a time; queued calls are merged up to
  ``max_batch`` inputs, waiting up to ``batch_wait_s`` after the previous batch for
  stragglers (``sage.llm.engines.batcher.MicroBatcher``); the batch's calls are then
  answered one after another while the next batch runs.

Work is counted in seconds of an engine running alone; an engine on a shared host
progresses at its contention speed while a neighbour is busy, so a busy neighbour
stretches the remaining work of every running call (rescheduled exactly). A chat's
prefill may have its own contention speed (it is compute-bound on every core, decode is
not); then its end is an event of its own, when the speed changes.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

from sage.benchmark.simulator.prefix_cache import SimPrefixCache
from sage.benchmark.simulator.profiles import EmbeddingProfile, LLMProfile

DONE = 0  # event codes shared with the event loop
BATCH_WINDOW = 1
ANSWERED = 3  # an embedding call's answer is written (2 is the loop's own WAKE)


class EventSink(Protocol):
    def push(self, when: float, code: int, payload: Any, version: int) -> None: ...

    def job_done(self, job: Job, now: float) -> None: ...


class Job:
    """One call an engine receives: a chat request or a (merged) embedding call."""

    __slots__ = ("rows", "requests", "items", "tokens", "out", "ttft_at", "engine", "prefix",
                 "cached")  # fmt: skip

    def __init__(
        self, rows: list[int], requests: Any, items: int, tokens: float, out: int = 0
    ) -> None:
        self.rows = rows
        self.requests = requests  # the policy's Request objects (unified) or None
        self.items = items
        self.tokens = tokens  # engine-side prompt tokens (chat) or longest input (embedding)
        self.out = out
        self.ttft_at = float("nan")
        self.engine: SimEngine | None = None
        self.prefix: tuple[int, int] | None = None  # (prefix id, tokens) it starts with
        self.cached = 0  # prompt tokens its engine's prefix cache held


class Run:
    """Work in progress on an engine: one sequence, or one embedding batch."""

    __slots__ = ("jobs", "work", "first", "t_last", "version", "done_at", "at_first")

    def __init__(self, jobs: list[Job], work: float, first: float) -> None:
        self.jobs = jobs
        self.work = work  # alone-seconds left, prefill included
        self.first = first  # alone-seconds left until the first token (0: none pending)
        self.t_last = 0.0
        self.version = 0
        self.done_at = 0.0
        self.at_first = False  # the armed timer is the end of prefill, not of the run


class Host:
    """Engines that share CPU (or one GPU): each runs at its contention speed while
    another is busy. ``name`` is the ``device_group`` the control plane sees."""

    __slots__ = ("engines", "name")

    def __init__(self, name: str = "") -> None:
        self.engines: list[SimEngine] = []
        self.name = name

    def changed(self, now: float) -> None:
        for engine in self.engines:
            engine.retime(now)


class SimEngine:
    """Common bookkeeping: id, kind, running work, host contention."""

    kind = "llm"

    def __init__(
        self,
        engine_id: str,
        sink: EventSink,
        contended_speed: float = 1.0,
        contended_prefill_speed: float | None = None,
    ) -> None:
        self.id = engine_id
        self.sink = sink
        self.host: Host | None = None
        self.contended_speed = contended_speed
        self.contended_prefill_speed = (
            contended_speed if contended_prefill_speed is None else contended_prefill_speed
        )
        self.running: list[Run] = []
        self.speed = 1.0
        self.prefill_speed = 1.0

    @property
    def busy(self) -> bool:
        return bool(self.running)

    def submit(self, job: Job, now: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self, run: Run, now: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- running work ------------------------------------------------------------
    def _begin(self, run: Run, now: float) -> None:
        was_busy = bool(self.running)
        run.t_last = now
        self.running.append(run)
        if self.host is None:
            self._arm(run, now)
            if run.first:
                run.jobs[0].ttft_at = now + run.first
                run.first = 0.0
            return
        self._arm(run, now)
        if not was_busy:
            self.host.changed(now)

    def _end(self, run: Run, now: float) -> None:
        self.running.remove(run)
        if self.host is not None and not self.running:
            self.host.changed(now)

    def _arm(self, run: Run, now: float) -> None:
        run.version += 1
        prefill = run.first / self.prefill_speed
        run.at_first = bool(run.first) and self.prefill_speed != self.speed
        if run.at_first:
            run.done_at = now + prefill
        else:
            run.done_at = now + prefill + (run.work - run.first) / self.speed
        self.sink.push(run.done_at, DONE, run, run.version)

    def timer(self, run: Run, now: float) -> None:
        """``run``'s armed timer fired: its prefill ended (speed changes) or it is done."""
        if not run.at_first:
            self.finish(run, now)
            return
        run.jobs[0].ttft_at = now
        run.work = max(0.0, run.work - run.first)
        run.first = 0.0
        run.t_last = now
        self._arm(run, now)

    def _progress(self, run: Run, now: float) -> None:
        """Count the work done since ``run.t_last`` at the current speeds."""
        elapsed = now - run.t_last
        if run.first:
            prefill = run.first / self.prefill_speed
            if elapsed >= prefill:
                run.jobs[0].ttft_at = run.t_last + prefill
                run.work -= run.first
                run.first = 0.0
                elapsed -= prefill
            else:
                done = elapsed * self.prefill_speed
                run.first -= done
                run.work -= done
                elapsed = 0.0
        run.work = max(0.0, run.work - elapsed * self.speed)
        run.t_last = now

    def retime(self, now: float) -> None:
        """Re-derive the speeds from the neighbours; stretch or shrink running work."""
        assert self.host is not None
        others_busy = any(e.running for e in self.host.engines if e is not self)
        if others_busy:
            speed, prefill_speed = self.contended_speed, self.contended_prefill_speed
        else:
            speed, prefill_speed = 1.0, 1.0
        if speed == self.speed and prefill_speed == self.prefill_speed:
            return
        for run in self.running:
            self._progress(run, now)
        self.speed, self.prefill_speed = speed, prefill_speed
        for run in self.running:
            self._arm(run, now)

    def settle_first_token(self, run: Run) -> None:
        """At completion: the first token came at most now, at the current speed."""
        if run.first:
            run.jobs[0].ttft_at = run.t_last + run.first / self.prefill_speed
            run.first = 0.0


class SimLLMEngine(SimEngine):
    """``profile.capacity`` slots; calls beyond that wait in arrival order."""

    kind = "llm"

    def __init__(
        self,
        engine_id: str,
        sink: EventSink,
        profile: LLMProfile,
        contended_speed: float = 1.0,
        contended_prefill_speed: float | None = None,
    ) -> None:
        super().__init__(engine_id, sink, contended_speed, contended_prefill_speed)
        self.profile = profile
        self.slots = profile.capacity
        self.waiting: deque[Job] = deque()
        self.cache: SimPrefixCache | None = None  # set when the workload shares prefixes

    def submit(self, job: Job, now: float) -> None:
        job.engine = self
        if len(self.running) < self.slots:
            self._start(job, now)
        else:
            self.waiting.append(job)

    def _start(self, job: Job, now: float) -> None:
        p = self.profile
        if self.cache is not None and job.prefix is not None:
            job.cached = self.cache.lookup(*job.prefix)  # only the rest is prefilled
        first = p.ttft_s(job.tokens - job.cached) + (p.prefix_load_s if job.cached else 0.0)
        itl = p.itl_s(len(self.running) + 1)
        self._begin(Run([job], first + max(0, job.out - 1) * itl, first), now)

    def finish(self, run: Run, now: float) -> None:
        self.settle_first_token(run)
        self._end(run, now)
        job = run.jobs[0]
        if self.cache is not None and job.prefix is not None:
            hashes = job.requests[0].prefix_hashes if job.requests else ()
            self.cache.insert(job.prefix[0], int(job.tokens) + job.out, hashes)
        self.sink.job_done(job, now)
        if self.waiting and len(self.running) < self.slots:
            self._start(self.waiting.popleft(), now)


class SimEmbeddingEngine(SimEngine):
    """One batch at a time, merged from queued calls (the engine's micro-batcher)."""

    kind = "embedding"

    def __init__(
        self,
        engine_id: str,
        sink: EventSink,
        profile: EmbeddingProfile,
        contended_speed: float = 1.0,
    ) -> None:
        super().__init__(engine_id, sink, contended_speed)
        self.profile = profile
        self.waiting: deque[Job] = deque()
        self.waiting_items = 0
        self.last_done = float("-inf")
        self.answering_until = float("-inf")  # answers are written one at a time
        self.window_version = 0
        self.window_open = False
        self.batches = 0  # model calls and their inputs, as the real engine's /health
        self.items = 0

    def submit(self, job: Job, now: float) -> None:
        job.engine = self
        self.waiting.append(job)
        self.waiting_items += job.items
        if self.running:
            return
        if self.window_open:
            if self.waiting_items >= self.profile.max_batch:
                self._start_batch(now)
        else:
            self._maybe_start(now)

    def _maybe_start(self, now: float) -> None:
        deadline = self.last_done + self.profile.batch_wait_s
        if now >= deadline or self.waiting_items >= self.profile.max_batch:
            self._start_batch(now)
        else:
            self.window_open = True
            self.window_version += 1
            self.sink.push(deadline, BATCH_WINDOW, self, self.window_version)

    def window_closed(self, version: int, now: float) -> None:
        if version == self.window_version and self.window_open and not self.running:
            self._start_batch(now)

    def _start_batch(self, now: float) -> None:
        self.window_open = False
        limit = self.profile.max_batch
        jobs = [self.waiting.popleft()]
        items = jobs[0].items
        while self.waiting and items + self.waiting[0].items <= limit:
            job = self.waiting.popleft()
            items += job.items
            jobs.append(job)
        self.waiting_items -= items
        self.batches += 1
        self.items += items
        width = max(j.tokens for j in jobs)
        self._begin(Run(jobs, self.profile.compute_s(items, width), 0.0), now)

    def finish(self, run: Run, now: float) -> None:
        self._end(run, now)
        self.last_done = now
        per_item = self.profile.per_item_s
        if per_item:
            at = max(now, self.answering_until)
            for job in run.jobs:
                at += per_item * job.items
                self.sink.push(at, ANSWERED, job, 0)
            self.answering_until = at
        else:
            for job in run.jobs:
                self.sink.job_done(job, now)
        if self.waiting and not self.running:
            self._maybe_start(now)


def embedding_batches(engines: list[SimEngine]) -> dict[str, float | None]:
    """Model calls of the embedding engines and their mean inputs (the real run's
    ``embedding_batches`` record, engine side)."""
    batches = sum(getattr(e, "batches", 0) for e in engines)
    items = sum(getattr(e, "items", 0) for e in engines)
    return {
        "engine_batches": batches,
        "engine_inputs_per_batch": items / batches if batches else None,
        "gateway_dispatches": None,
        "gateway_inputs_per_dispatch": None,
    }
