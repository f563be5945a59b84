"""The built-in policies as they were before the engine index: one queue per policy and a
scan of every engine per placement. The property tests check that today's policies make
exactly these decisions, on plain engine lists and on an indexed ``EnginePool``.

Not registered (``get_policy`` never sees them); kept short and literal on purpose.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sage.llm.control_plane.policies.base import RequestPolicy
from sage.llm.control_plane.policies.placement import free_slots, least_loaded
from sage.llm.control_plane.types import Dispatch, EngineState, Request, RequestKind


class RefArrival(RequestPolicy):
    def __init__(self, max_queue: int = 1024) -> None:
        super().__init__(max_queue)
        self._queue: deque[Request] = deque()

    def enqueue(self, request: Request, now: float) -> None:
        self._queue.append(request)

    def remove(self, request_id: str) -> Request | None:
        for request in self._queue:
            if request.id == request_id:
                self._queue.remove(request)
                return request
        return None

    def pending(self) -> list[Request]:
        return list(self._queue)

    def __len__(self) -> int:
        return len(self._queue)


class RefFifo(RefArrival):
    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        free = {e.id: e.free_slots for e in engines}
        out: list[Dispatch] = []
        while self._queue:
            head = self._queue[0]
            target = next((e for e in engines if free[e.id] > 0 and e.can_serve(head)), None)
            if target is None:
                break
            self._queue.popleft()
            free[target.id] -= 1
            out.append(Dispatch(target.id, [head]))
        return out


class RefRoundRobin(RefArrival):
    def __init__(self, max_queue: int = 1024) -> None:
        super().__init__(max_queue)
        self._cursor = 0

    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        if not self._queue or not engines:
            return []
        free = free_slots(engines)
        out: list[Dispatch] = []
        kept: deque[Request] = deque()
        n = len(engines)
        while self._queue:
            request = self._queue.popleft()
            if not any(free.values()):
                kept.append(request)
                kept.extend(self._queue)
                self._queue.clear()
                break
            for step in range(n):
                engine = engines[(self._cursor + step) % n]
                if free[engine.id] > 0 and engine.can_serve(request):
                    free[engine.id] -= 1
                    self._cursor = (self._cursor + step + 1) % n
                    out.append(Dispatch(engine.id, [request]))
                    break
            else:
                kept.append(request)
        self._queue = kept
        return out


class RefLeastLoaded(RefArrival):
    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        if not self._queue:
            return []
        free = free_slots(engines)
        left = sum(free.values())
        out: list[Dispatch] = []
        kept: deque[Request] = deque()
        while self._queue and left:
            request = self._queue.popleft()
            engine = least_loaded(engines, free, request)
            if engine is None:
                kept.append(request)
                continue
            free[engine.id] -= 1
            left -= 1
            out.append(Dispatch(engine.id, [request]))
        kept.extend(self._queue)
        self._queue = kept
        return out


class RefOrdered(RequestPolicy):
    def __init__(self, max_queue: int = 1024) -> None:
        super().__init__(max_queue)
        self._heap: list[tuple[Any, int, Request]] = []
        self._live: dict[str, Request] = {}
        self._seq = itertools.count()

    def key(self, request: Request) -> Any:
        raise NotImplementedError

    def enqueue(self, request: Request, now: float) -> None:
        self._live[request.id] = request
        heapq.heappush(self._heap, (self.key(request), next(self._seq), request))

    def remove(self, request_id: str) -> Request | None:
        return self._live.pop(request_id, None)

    def pending(self) -> list[Request]:
        return list(self._live.values())

    def __len__(self) -> int:
        return len(self._live)

    def _pop_live(self) -> tuple[Any, int, Request] | None:
        while self._heap:
            entry = heapq.heappop(self._heap)
            if self._live.get(entry[2].id) is entry[2]:
                return entry
        return None

    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        if not self._live:
            return []
        free = free_slots(engines)
        out: list[Dispatch] = []
        skipped: list[tuple[Any, int, Request]] = []
        while any(v > 0 for v in free.values()):
            entry = self._pop_live()
            if entry is None:
                break
            request = entry[2]
            engine = least_loaded(engines, free, request)
            if engine is None:
                skipped.append(entry)
                continue
            free[engine.id] -= 1
            del self._live[request.id]
            self.on_dispatch(request, engine.id, now)
            out.append(Dispatch(engine.id, [request]))
        for entry in skipped:
            heapq.heappush(self._heap, entry)
        return out

    def on_dispatch(self, request: Request, engine_id: str, now: float) -> None:  # noqa: B027
        pass


class RefPriority(RefOrdered):
    def key(self, request: Request) -> Any:
        return (-request.priority, request.arrival)


class RefSloAware(RefOrdered):
    def __init__(self, max_queue: int = 1024, smoothing: float = 0.2) -> None:
        super().__init__(max_queue)
        self.smoothing = smoothing
        self._observed: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def key(self, request: Request) -> Any:
        deadline = request.deadline if request.deadline is not None else math.inf
        return (deadline, -request.priority, request.arrival)

    def service_estimate(self, request: Request, engines: Sequence[EngineState]) -> float:
        estimates = [e.estimate_service_s(request) for e in engines if e.can_serve(request)]
        known = [s for s in estimates if s > 0]
        if known:
            return min(known)
        return self._observed.get(request.engine_kind, 0.0)

    @staticmethod
    def _distinct(engines: Sequence[EngineState]) -> list[EngineState]:
        seen: dict[tuple[Any, ...], EngineState] = {}
        for e in engines:
            key = (e.healthy, e.kinds, e.models, e.decode_tokens_per_s,
                   e.prefill_tokens_per_s, e.embed_items_per_s)  # fmt: skip
            seen.setdefault(key, e)
        return list(seen.values())

    def admit(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        if not super().admit(request, engines, now):
            return False
        if request.deadline is None:
            return True
        if request.deadline <= now:
            return False
        servers = [e for e in engines if e.can_serve(request)]
        if not servers:
            return True
        profiles = self._distinct(engines)
        own = self.service_estimate(request, profiles)
        ahead = sum(
            self.service_estimate(r, profiles)
            for r in self._live.values()
            if r.engine_kind == request.engine_kind
            and (r.deadline if r.deadline is not None else math.inf) <= request.deadline
        )
        slots = sum(max(1, e.capacity) for e in servers)
        busy = sum(min(e.in_flight, e.capacity) for e in servers)
        wait = (ahead + (busy * own if busy >= slots else 0.0)) / slots
        return now + wait + own <= request.deadline

    def on_dispatch(self, request: Request, engine_id: str, now: float) -> None:
        self._started[request.id] = now

    def on_complete(self, request: Request, engine_id: str, now: float, ok: bool) -> None:
        start = self._started.pop(request.id, None)
        if start is None or not ok:
            return
        took = max(0.0, now - start)
        old = self._observed.get(request.engine_kind)
        self._observed[request.engine_kind] = (
            took if old is None else (1 - self.smoothing) * old + self.smoothing * took
        )


class RefFair(RequestPolicy):
    def __init__(self, max_queue: int = 1024, weights: dict[str, float] | None = None) -> None:
        super().__init__(max_queue)
        self.weights = dict(weights or {})
        self.quantum = 1.0
        self._queues: OrderedDict[str, deque[Request]] = OrderedDict()
        self._deficit: dict[str, float] = {}
        self._size = 0

    def enqueue(self, request: Request, now: float) -> None:
        self._queues.setdefault(request.tenant, deque()).append(request)
        self._deficit.setdefault(request.tenant, 0.0)
        self._size += 1

    def remove(self, request_id: str) -> Request | None:
        for queue in self._queues.values():
            for request in queue:
                if request.id == request_id:
                    queue.remove(request)
                    self._size -= 1
                    return request
        return None

    def pending(self) -> list[Request]:
        return [r for q in self._queues.values() for r in q]

    def __len__(self) -> int:
        return self._size

    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        if not self._size:
            return []
        free = free_slots(engines)
        out: list[Dispatch] = []
        progress = True
        while progress and any(v > 0 for v in free.values()):
            progress = False
            for tenant in list(self._queues):
                queue = self._queues[tenant]
                if not queue or least_loaded(engines, free, queue[0]) is None:
                    continue
                self._deficit[tenant] += self.quantum * self.weights.get(tenant, 1.0)
                while queue and self._deficit[tenant] >= 1.0:
                    engine = least_loaded(engines, free, queue[0])
                    if engine is None:
                        break
                    request = queue.popleft()
                    self._size -= 1
                    self._deficit[tenant] -= 1.0
                    free[engine.id] -= 1
                    out.append(Dispatch(engine.id, [request]))
                    progress = True
                if not queue:
                    self._deficit[tenant] = 0.0
            if self._queues:
                self._queues.move_to_end(next(iter(self._queues)))
        for tenant in [t for t, q in self._queues.items() if not q]:
            del self._queues[tenant]
            self._deficit.pop(tenant, None)
        return out


class RefHybrid(RequestPolicy):
    def __init__(
        self,
        max_queue: int = 1024,
        batch_size: int = 32,
        max_wait_s: float = 0.01,
        fair_share: bool = False,
    ) -> None:
        super().__init__(max_queue)
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.llm: RequestPolicy = RefFair(max_queue) if fair_share else RefSloAware(max_queue)
        self._embed: OrderedDict[str, deque[Request]] = OrderedDict()
        self._embed_inputs: dict[str, int] = {}
        self._embed_size = 0

    def admit(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        if len(self) >= self.max_queue:
            return False
        if request.kind is RequestKind.EMBEDDING:
            return True
        return self.llm.admit(request, engines, now)

    def enqueue(self, request: Request, now: float) -> None:
        if request.kind is RequestKind.EMBEDDING:
            self._embed.setdefault(request.model, deque()).append(request)
            self._embed_inputs[request.model] = (
                self._embed_inputs.get(request.model, 0) + request.n_inputs
            )
            self._embed_size += 1
        else:
            self.llm.enqueue(request, now)

    def remove(self, request_id: str) -> Request | None:
        for model, queue in self._embed.items():
            for request in queue:
                if request.id == request_id:
                    queue.remove(request)
                    self._embed_inputs[model] -= request.n_inputs
                    self._embed_size -= 1
                    return request
        return self.llm.remove(request_id)

    def pending(self) -> list[Request]:
        return [r for q in self._embed.values() for r in q] + self.llm.pending()

    def __len__(self) -> int:
        return self._embed_size + len(self.llm)

    def _due(self, model: str, now: float) -> bool:
        queue = self._embed[model]
        return bool(queue) and (
            self._embed_inputs[model] >= self.batch_size
            or now - queue[0].arrival >= self.max_wait_s - 1e-9
        )

    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        out: list[Dispatch] = []
        if self._embed_size:
            free = free_slots(engines)
            for model, queue in self._embed.items():
                while self._due(model, now):
                    engine = least_loaded(engines, free, queue[0])
                    if engine is None:
                        break
                    limit = max(1, min(engine.max_batch, max(self.batch_size, 1)))
                    batch = [queue.popleft()]
                    taken = batch[0].n_inputs
                    while queue and taken + queue[0].n_inputs <= limit:
                        taken += queue[0].n_inputs
                        batch.append(queue.popleft())
                    self._embed_inputs[model] -= taken
                    self._embed_size -= len(batch)
                    free[engine.id] -= 1
                    out.append(Dispatch(engine.id, batch))
            if out:
                engines = [
                    replace(e, in_flight=e.in_flight + e.free_slots - free[e.id])
                    if e.free_slots - free[e.id]
                    else e
                    for e in engines
                ]
        if len(self.llm):
            out.extend(self.llm.schedule(engines, now))
        return out

    def on_complete(self, request: Request, engine_id: str, now: float, ok: bool) -> None:
        if request.kind is not RequestKind.EMBEDDING:
            self.llm.on_complete(request, engine_id, now, ok)


REFERENCE: dict[str, type[RequestPolicy]] = {
    "fifo": RefFifo,
    "round_robin": RefRoundRobin,
    "least_loaded": RefLeastLoaded,
    "priority": RefPriority,
    "slo_aware": RefSloAware,
    "fair": RefFair,
    "hybrid": RefHybrid,
}
