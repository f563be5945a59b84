"""The embedding side of ``hybrid``: deadline-ordered queue, batches of similar lengths,
and sizes and timing chosen from the LLM load on the same hardware.

An embedding model pads every input of a batch to the longest one, so a batch that mixes
8-token and 128-token texts costs as if all were 128 tokens; grouping by length keeps that
waste under ``pad_tolerance``. On hardware an LLM engine shares (same ``device_group``),
every second an embedding batch runs slows the LLM's prefill and decode: so

* while the group's LLM is idle, batches go at once (up to two calls in flight, so the
  engine is never idle between them);
* while it is decoding with nothing waiting, one batch at a time;
* while its requests wait or a chat is in prefill (its first token at risk), embeddings
  are deferred (up to ``defer_s``, never more than ``defer_share`` of their own deadline
  budget) and then go as fewer, fuller batches: less of the embedding engine's busy time
  overlaps the LLM, and no embedding misses its own deadline for it.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterator, Sequence

from sage.llm.control_plane.policies.placement import Ledger
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import Dispatch, EngineState, Request

Entry = tuple[float, int, Request]  # (deadline or inf, number, request)

IDLE, BUSY, AT_RISK = 0, 1, 2  # the LLM side of a device group, for embeddings


def input_tokens(request: Request) -> float:
    """Tokens per input (the gateway sends the request's total as ``prompt_tokens``)."""
    return request.prompt_tokens / max(1, request.n_inputs)


class EmbeddingBatcher:
    """Per-model queues of embedding requests and how they leave them (not a policy)."""

    def __init__(
        self,
        batch_size: int = 64,
        max_wait_s: float = 0.005,
        defer_s: float = 0.0,
        defer_share: float = 0.5,
        pad_tolerance: float = 0.25,
    ) -> None:
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.defer_s = defer_s
        self.defer_share = defer_share
        self.pad_tolerance = pad_tolerance
        self._heaps: dict[str, list[Entry]] = {}
        self._live: dict[str, Request] = {}
        self._entry: dict[str, int] = {}  # request -> number of its current heap entry
        self._inputs: dict[str, int] = {}  # model -> queued inputs
        self._seq = itertools.count()
        self._rates: dict[str, tuple[object, float]] = {}  # model -> (pool signature, items/s)
        self._no_room: dict[str, object] = {}  # model -> when no engine was below its limit
        self._alike: dict[str, tuple[object, bool]] = {}  # model -> (pool signature, uniform)
        self.completions = 0  # requests of either kind completed (the caller counts them)
        self._wake: float | None = None
        self.batches = 0  # dispatched, for describe()
        self.batched_inputs = 0

    # -- queue -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._live)

    def pending(self) -> list[Request]:
        return list(self._live.values())

    def admit(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        """Refuse what is past its deadline, or clearly cannot make it: the inputs queued
        ahead of it at the engines' advertised speed take over twice its time left."""
        if request.deadline is None:
            return True
        if request.deadline <= now:
            return False
        rate = self._rate(request, engines)
        if not rate:
            return True
        budget = 2.0 * (request.deadline - now)
        if (request.n_inputs + self._inputs.get(request.model, 0)) / rate <= budget:
            return True  # even every queued input ahead would fit: no need to walk them
        ahead = request.n_inputs + sum(
            r.n_inputs
            for _, n, r in self._heaps.get(request.model, ())
            if r.deadline is not None and r.deadline <= request.deadline and self._current(n, r)
        )
        return ahead / rate <= budget

    def _rate(self, request: Request, engines: Sequence[EngineState]) -> float:
        """Advertised items/s of the engines that can serve ``request``; over an indexed
        pool, summed again only when an engine's health, speed or slots change."""
        if not (isinstance(engines, EnginePool) and engines.indexed):
            return sum(e.embed_items_per_s for e in engines if e.can_serve(request))
        key = (engines.profiles()[0], engines.serving(request)[:2])
        cached = self._rates.get(request.model)
        if cached is None or cached[0] != key:
            rate = sum(e.embed_items_per_s for e in engines if e.can_serve(request))
            cached = self._rates[request.model] = (key, rate)
        return cached[1]

    def enqueue(self, request: Request, now: float) -> None:
        if request.id in self._live:
            self.remove(request.id)
        self._live[request.id] = request
        self._inputs[request.model] = self._inputs.get(request.model, 0) + request.n_inputs
        deadline = math.inf if request.deadline is None else request.deadline
        number = self._entry[request.id] = next(self._seq)
        heapq.heappush(self._heaps.setdefault(request.model, []), (deadline, number, request))

    def remove(self, request_id: str) -> Request | None:
        request = self._live.pop(request_id, None)
        if request is not None:
            del self._entry[request_id]
            self._inputs[request.model] -= request.n_inputs
        return request

    def _current(self, number: int, request: Request) -> bool:
        """Whether a heap entry is its request's live one: entries are removed lazily, so
        a request queued again (a retry) leaves an older entry that must not count."""
        return self._entry.get(request.id) == number

    def _clean(self, heap: list[Entry]) -> None:
        while heap and not self._current(heap[0][1], heap[0][2]):
            heapq.heappop(heap)

    # -- timing ------------------------------------------------------------------------
    def _wait_s(self, request: Request, state: int) -> float:
        """How long ``request`` may wait to be batched, given the LLM side's ``state``."""
        wait = self.max_wait_s if state != AT_RISK else max(self.max_wait_s, self.defer_s)
        if request.deadline is not None:
            wait = min(wait, self.defer_share * max(0.0, request.deadline - request.arrival))
        return wait

    def next_wakeup(self, now: float) -> float | None:
        return self._wake if self._wake is not None and self._wake > now else None

    # -- dispatch ----------------------------------------------------------------------
    def place(
        self,
        ledger: Ledger,
        now: float,
        llm_state: Callable[[EngineState, float], int],
        llm_idle: Callable[[EngineState], bool] | None = None,
    ) -> list[Dispatch]:
        """Batches to send now; ``llm_state(engine, now)``: IDLE, BUSY or AT_RISK;
        ``llm_idle(engine)``, if given: whether that state is IDLE, more cheaply."""
        out: list[Dispatch] = []
        self._wake = None
        for model, heap in self._heaps.items():
            while True:
                self._clean(heap)
                if not heap:
                    break
                head = heap[0][2]
                engine = ledger.least_loaded(head)
                if engine is None:
                    break
                state = llm_state(engine, now)
                if self._at_limit(engine, state, ledger):  # another may be below its own
                    used = engine.capacity - ledger.free_of(engine)
                    if (state == IDLE or used >= 2) and self._uniform(head, ledger):
                        break  # alike engines, each at least as loaded: all at their limit
                    found = self._below_limit(head, ledger, now, llm_state, llm_idle)
                    if found is None:
                        break
                    engine, state = found
                cap = max(1, min(engine.max_batch, self.batch_size))
                due = head.arrival + self._wait_s(head, state)
                if self._inputs[model] < cap and now < due - 1e-9:
                    self._wake = due if self._wake is None else min(self._wake, due)
                    break
                batch = self._group(heap, cap)
                for request in batch:
                    self.remove(request.id)
                ledger.take(engine)
                self.batches += 1
                self.batched_inputs += sum(r.n_inputs for r in batch)
                out.append(Dispatch(engine.id, batch))
        return out

    @staticmethod
    def _at_limit(engine: EngineState, state: int, ledger: Ledger) -> bool:
        """Two calls in flight beside an idle LLM (the engine never waits between
        batches), one beside a busy one."""
        limit = min(2, max(1, engine.capacity)) if state == IDLE else 1
        return engine.capacity - ledger.free_of(engine) >= limit

    def _uniform(self, request: Request, ledger: Ledger) -> bool:
        """Whether the engines serving ``request`` all have the same capacity and kinds
        (over an indexed pool; read again when it changes). Then when the least loaded
        one is at the highest limit (its LLM idle) or has two calls in flight, every
        other one, at least as loaded, is at its own limit too."""
        if not (isinstance(ledger, EnginePool) and ledger.indexed):
            return False
        signature = ledger.shape()
        cached = self._alike.get(request.model)
        if cached is None or cached[0] != signature:
            shapes = {(e.capacity, len(e.kinds)) for e in ledger if e.serves(request)}
            cached = self._alike[request.model] = (signature, len(shapes) <= 1)
        return cached[1]

    def _below_limit(
        self,
        request: Request,
        ledger: Ledger,
        now: float,
        llm_state: Callable[[EngineState, float], int],
        llm_idle: Callable[[EngineState], bool] | None = None,
    ) -> tuple[EngineState, int] | None:
        """The least loaded engine for ``request`` still below its limit: a walk of the
        engines with a free slot that serve it (the pool's index: not every engine).

        Over an indexed pool, a walk that found none is remembered until a request
        completes (only a completion frees a slot or leaves an LLM idle) or the pool
        changes: the next pass would walk to the same answer."""
        signature = None
        if isinstance(ledger, EnginePool) and ledger.indexed:
            signature = (self.completions, *ledger.shape())
            if self._no_room.get(request.model) == signature:
                return None
        best: tuple[EngineState, int] | None = None
        best_key: tuple[int, float] | None = None
        for engine in _free_servers(ledger, request):
            free = ledger.free_of(engine)
            used = engine.capacity - free
            if used >= 2:
                continue  # at any limit: no need to ask its LLM's state
            key = (len(engine.kinds), used / max(1, engine.capacity))
            if best_key is not None and key >= best_key:
                continue
            if used and llm_idle is not None and not llm_idle(engine):
                continue  # one call in flight beside a running LLM: at its limit
            state = llm_state(engine, now)
            if self._at_limit(engine, state, ledger):
                continue
            best, best_key = (engine, state), key
        if best is None and signature is not None:
            self._no_room[request.model] = signature
        return best

    def _group(self, heap: list[Entry], cap: int) -> list[Request]:
        """The most urgent request plus others of similar length (deadline order) while
        padding stays within ``pad_tolerance`` of the useful tokens and inputs <= ``cap``."""
        order = heap if len(heap) <= 1 else sorted(heap)
        first = order[0][2]
        batch = [first]
        items = first.n_inputs
        width = input_tokens(first)
        useful = items * width
        limit = 1.0 + self.pad_tolerance
        for _, number, request in order[1:]:
            if items >= cap:
                break
            if not self._current(number, request):
                continue
            n = request.n_inputs
            if items + n > cap:
                continue
            length = input_tokens(request)
            new_width = max(width, length)
            if new_width * (items + n) <= limit * (useful + n * length) + 1e-9:
                batch.append(request)
                items += n
                width = new_width
                useful += n * length
        return batch


def _free_servers(ledger: Ledger, request: Request) -> Iterator[EngineState]:
    """Engines with a free slot that can serve ``request``, in list order."""
    if not isinstance(ledger, EnginePool):
        free = ledger.free_of
        yield from (e for e in ledger.engines if free(e) > 0 and e.can_serve(request))
        return
    engines = ledger.engines
    pos = ledger.next_free(request, 0)
    while pos is not None:
        yield engines[pos]
        after = ledger.next_free(request, pos + 1)
        if after is None or after <= pos:  # wrapped around: every one visited
            return
        pos = after
