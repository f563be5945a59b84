"""The LLM side of ``hybrid``: priority tiers, least slack first, and admission that
predicts the wait under that order.

Why not plain EDF (``slo_aware``): past capacity EDF serves whoever is closest to missing,
so everyone misses a little (the domino effect), and its admission does not count the
higher-priority work that will arrive while a request waits. Here:

* a request's *latest start* is the later time it can start and still meet both its
  first-token budget (``ttft_share`` of its deadline budget: the gateway sends one e2e
  deadline) and its deadline, from the engines' speed figures times a learned correction
  (measured service / estimate: contention and misestimates are learned, not tuned);
* the highest priority tier goes first, least slack first within a tier; a lower tier's
  request goes ahead when it would otherwise miss and the higher one can afford the wait;
* a request whose latest start has passed is *late*: it runs only when nothing on time
  waits, so a late request never makes an on-time one late; once it cannot finish by its
  deadline either, it expires (:meth:`TieredLLMQueue.expire`: the caller answers it);
* admission refuses a request whose predicted start (in-flight work left, queued work
  ahead in this order, stretched by the load of the tiers above, ``1 / (1 - rho)`` as in
  an M/G/1 priority queue) is after its latest start;
* unless it can *displace* (Moore-Hodgson, which keeps the most jobs on time on one
  machine): the longest queued request of its tier ahead of it, when that one is longer
  and dropping it lets the newcomer start in time, is answered at once instead
  (:meth:`TieredLLMQueue.expire`); past capacity the short requests are kept.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Sequence

from sage.llm.control_plane.policies.placement import Ledger
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import EngineState, Request

Entry = tuple[float, int, Request]  # (latest start, number, request)


class Speeds:
    """Fastest advertised LLM speeds in the pool, re-read only when the pool changes."""

    __slots__ = ("decode", "prefill", "slots", "_seen", "_version")

    def __init__(self) -> None:
        self.decode = self.prefill = 0.0
        self.slots = 0
        self._seen: tuple[int, float, float, int] | None = None
        self._version: object = None  # an indexed pool's state when last read

    def update(self, engines: Sequence[EngineState]) -> None:
        if isinstance(engines, EnginePool) and engines.indexed:
            version = engines.shape()
            if version == self._version:
                return
            self._version = version
        llm = [e for e in engines if e.healthy and "llm" in e.kinds]
        decode = max((e.decode_tokens_per_s for e in llm), default=0.0)
        prefill = max((e.prefill_tokens_per_s for e in llm), default=0.0)
        slots = sum(max(1, e.capacity) for e in llm)
        seen = (len(llm), decode, prefill, slots)
        if seen != self._seen:
            self._seen = seen
            self.decode, self.prefill, self.slots = decode, prefill, slots


class TieredLLMQueue:
    """Queue, admission and dispatch order of LLM requests (not a policy on its own)."""

    def __init__(
        self,
        ttft_share: float = 0.6,
        rate_window_s: float = 10.0,
        steal: bool = False,
        admit_share: float = 1.0,
        late_in_tier: bool = False,
        displace: bool = True,
    ) -> None:
        self.late_in_tier = late_in_tier
        self.displace = displace
        self._displacing: tuple[str, str] | None = None  # (admitted, displaced) request ids
        self._displaced: list[Request] = []  # answered at the next :meth:`expire`
        self.safety = 1.0  # predicted wait x this (estimates learn; this only leans)
        self.ttft_share = ttft_share
        self.steal = steal
        self.admit_share = admit_share
        self.rate_window_s = rate_window_s
        self.speeds = Speeds()
        self.correction = 1.0  # measured / estimated service, learned
        self.observed = 0.0  # seconds per request when no speed is advertised
        self._heaps: dict[tuple[int, str], list[Entry]] = {}
        self._late: dict[str, Request] = {}  # arrival order
        self._live: dict[str, Request] = {}
        self._entry: dict[str, int] = {}  # request -> number of its current heap entry
        self._work: dict[str, float] = {}  # queued request -> estimate (uncorrected)
        self._tier_work: dict[int, float] = {}
        self._rate: dict[int, tuple[float, float]] = {}  # tier -> (decayed work sum, at)
        self._running: dict[
            str, tuple[float, float, float, str]
        ] = {}  # (start, est, prefill, group)
        self._by_group: dict[str, dict[str, float]] = {}  # device group -> {request: prefill end}
        self._ends: list[tuple[float, str]] = []  # (estimated end, request), running ones
        self._end_of: dict[str, float] = {}  # running request -> its end, while not past
        self._end_sum = 0.0
        self._seq = itertools.count()
        self.late = 0  # requests that missed their latest start while queued
        self.expired = 0  # late requests removed: they could not finish in time any more
        self.displaced = 0  # queued requests dropped for a shorter newcomer

    # -- estimates ---------------------------------------------------------------------
    def prefill_s(self, request: Request) -> float:
        s = self.speeds
        if s.prefill:
            return request.prompt_tokens / s.prefill * self.correction
        return 0.3 * self.service_s(request)

    def service_s(self, request: Request) -> float:
        s = self.speeds
        raw = 0.0
        if s.decode:
            raw += request.max_tokens / s.decode
        if s.prefill:
            raw += request.prompt_tokens / s.prefill
        return raw * self.correction if raw else self.observed

    def latest_start(self, request: Request) -> float:
        if request.deadline is None:
            return math.inf
        budget = request.deadline - request.arrival
        ttft_due = request.arrival + self.ttft_share * budget
        return min(ttft_due - self.prefill_s(request), request.deadline - self.service_s(request))

    def _tier_rate(self, tier: int, now: float) -> float:
        total, at = self._rate.get(tier, (0.0, now))
        return total * math.exp(-(now - at) / self.rate_window_s) / self.rate_window_s

    def running_left(self, now: float) -> float:
        """Estimated work left of the running requests: the sum of ``end - now`` over
        those not yet past their estimated end (kept as a sum of ends, not walked)."""
        ends, end_of = self._ends, self._end_of
        while ends and ends[0][0] <= now:
            end, request_id = heapq.heappop(ends)
            if end_of.get(request_id) == end:
                self._forget_end(request_id)
        return max(0.0, self._end_sum - len(end_of) * now) if end_of else 0.0

    def _forget_end(self, request_id: str) -> None:
        end = self._end_of.pop(request_id, None)
        if end is not None:
            self._end_sum = self._end_sum - end if self._end_of else 0.0

    # -- queue -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._live)

    def pending(self) -> list[Request]:
        return list(self._live.values())

    def admit(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        """Whether ``request`` can start in time; a displacement it needs is only noted
        here and done when this request is queued (:meth:`enqueue`)."""
        self._displacing = None
        if request.deadline is None:
            return True
        if request.deadline <= now:
            return False
        self.speeds.update(engines)
        slots = self.speeds.slots
        if not slots:
            return True  # the caller reports "no engine"
        lst = self.latest_start(request)
        tier = request.priority
        ahead = self.running_left(now)
        for other, work in self._tier_work.items():
            if other > tier:
                ahead += work * self.correction
        same, longest = self._same_tier_ahead(request, lst)
        ahead += same
        rho = sum(self._tier_rate(t, now) for t in self._rate if t > tier) / slots
        if rho >= 0.95:
            return False
        stretch = self.safety / slots / (1.0 - rho)
        budget = request.deadline - request.arrival
        limit = min(lst, request.arrival + self.admit_share * budget)
        if now + ahead * stretch <= limit:
            return True
        if longest is None or not self.displace:
            return False
        gone = self._work[longest.id] * self.correction
        if gone <= self.service_s(request) or now + (ahead - gone) * stretch > limit:
            return False  # the newcomer is the longest, or dropping it would not help
        self._displacing = (request.id, longest.id)
        return True

    def _same_tier_ahead(self, request: Request, lst: float) -> tuple[float, Request | None]:
        """Queued work of ``request``'s tier that runs before it, and the longest such
        request still on time (the one to displace)."""
        total, longest, most = 0.0, None, 0.0
        for (tier, _), heap in self._heaps.items():
            if tier != request.priority:
                continue
            for key, number, other in heap:
                if key <= lst and self._entry.get(other.id) == number:
                    if other.id in self._late:
                        continue  # runs only when nothing on time waits: not ahead
                    work = self._work[other.id]
                    total += work
                    if work > most:
                        longest, most = other, work
        return total * self.correction, longest

    def enqueue(self, request: Request, now: float) -> None:
        old = self._live.get(request.id)
        if old is not None:
            self.remove(request.id)
        if self._displacing is not None and self._displacing[0] == request.id:
            displaced = self.remove(self._displacing[1])
            if displaced is not None:
                self._displaced.append(displaced)
                self.displaced += 1
        self._displacing = None
        self._live[request.id] = request
        work = self.service_s(request) / self.correction if self.correction else 0.0
        self._work[request.id] = work
        tier = request.priority
        self._tier_work[tier] = self._tier_work.get(tier, 0.0) + work
        total, at = self._rate.get(tier, (0.0, now))
        self._rate[tier] = (total * math.exp(-(now - at) / self.rate_window_s) + work, now)
        heap = self._heaps.setdefault((tier, request.model), [])
        number = self._entry[request.id] = next(self._seq)
        heapq.heappush(heap, (self.latest_start(request), number, request))

    def remove(self, request_id: str) -> Request | None:
        request = self._live.pop(request_id, None)
        if request is None:
            return None
        self._late.pop(request_id, None)
        del self._entry[request_id]
        work = self._work.pop(request_id, 0.0)
        self._tier_work[request.priority] = max(0.0, self._tier_work[request.priority] - work)
        return request  # heap entries are skipped lazily

    # -- dispatch ----------------------------------------------------------------------
    def _head(self, heap: list[Entry], now: float) -> Entry | None:
        """The most urgent on-time entry; late ones move to the late queue. Entries are
        removed lazily: one that is not its request's current entry (a retry queued the
        request again) is dropped."""
        while heap:
            lst, number, request = heap[0]
            if self._entry.get(request.id) != number or request.id in self._late:
                heapq.heappop(heap)
                continue
            if lst < now:
                heapq.heappop(heap)
                self._late[request.id] = request
                self.late += 1
                continue
            return heap[0]
        return None

    def expire(self, now: float) -> list[Request]:
        """Remove and return the late requests that cannot finish by their deadline any
        more (an on-time one still can: its latest start is not past). Run late, they
        would only delay what comes after them and miss anyway."""
        for heap in self._heaps.values():
            self._head(heap, now)  # moves the ones whose latest start passed to ``_late``
        out = [r for r in self._late.values() if now + self.service_s(r) > r.deadline]  # type: ignore[operator]
        for request in out:
            self.remove(request.id)
        self.expired += len(out)
        if self._displaced:  # removed already, when their displacer was queued
            out.extend(self._displaced)
            self._displaced.clear()
        return out

    def next_expiry(self, now: float) -> float | None:
        """When the next queued request expires, if no event comes first: the last start
        of a late one or of a heap's head (a deeper entry is caught at the next event or
        at its deadline)."""
        queued = [heap[0][2] for heap in self._heaps.values() if heap]
        queued.extend(self._late.values())
        times = [
            r.deadline - self.service_s(r)
            for r in queued
            if r.deadline is not None and r.id in self._live
        ]
        times = [t for t in times if t > now]  # one due now was expired by this pass
        return min(times) if times else None

    def next_request(self, model_blocked: set[str], now: float) -> Request | None:
        """What to run next on a free slot, by tier then slack; ``None`` if nothing."""
        heads: list[tuple[int, Entry]] = []
        for (tier, model), heap in self._heaps.items():
            if model in model_blocked:
                continue
            head = self._head(heap, now)
            if head is not None:
                heads.append((tier, head))
        if self.late_in_tier and self._late:
            late = max(
                (r for r in self._late.values() if r.model not in model_blocked),
                key=lambda r: r.priority,
                default=None,
            )
            if late is not None and all(tier <= late.priority for tier, _ in heads):
                return late  # missed already: out first, before it makes its tier late
        if heads:
            heads.sort(key=lambda h: (-h[0], h[1][0], h[1][1]))
            tier, (lst, _, chosen) = heads[0]
            chosen_lst = lst
            est = self.service_s(chosen)
            for _other_tier, (other_lst, _, other) in heads[1:] if self.steal else ():
                if other.model != chosen.model:
                    continue
                # ``other`` would miss behind ``chosen``, which can wait for it.
                if other_lst < now + est and chosen_lst >= now + self.service_s(other):
                    return other
            return chosen
        for request in self._late.values():
            if request.model not in model_blocked:
                return request
        return None

    def take(self, request: Request, engine: EngineState, now: float) -> None:
        """``request`` leaves the queue for ``engine``."""
        est = self.service_s(request)
        self.remove(request.id)
        prefill = self.prefill_s(request)
        self._running[request.id] = (now, est, prefill, engine.device_group)
        self._forget_end(request.id)
        self._end_of[request.id] = now + est
        self._end_sum += now + est
        heapq.heappush(self._ends, (now + est, request.id))
        if engine.device_group:
            self._by_group.setdefault(engine.device_group, {})[request.id] = now + prefill

    def place(
        self,
        ledger: Ledger,
        now: float,
        choose: Callable[[Request, Ledger, float], EngineState | None] | None = None,
    ) -> list[tuple[Request, EngineState]]:
        """Fill free LLM slots; ``choose(request, ledger, now)`` may pick the engine."""
        out: list[tuple[Request, EngineState]] = []
        blocked: set[str] = set()
        self.speeds.update(ledger.engines)
        while ledger.total_free() and self._live:
            request = self.next_request(blocked, now)
            if request is None:
                break
            engine = choose(request, ledger, now) if choose is not None else None
            if engine is None:
                engine = ledger.least_loaded(request)
            if engine is None:
                blocked.add(request.model)
                continue
            ledger.take(engine)
            self.take(request, engine, now)
            out.append((request, engine))
        return out

    # -- learning ----------------------------------------------------------------------
    def in_prefill(self, group: str, now: float) -> bool:
        """Whether a chat running in device ``group`` is still expected in prefill."""
        running = self._by_group.get(group)
        return bool(running) and any(now < end for end in running.values())

    def running_in(self, group: str) -> int:
        """LLM requests running in device ``group``."""
        running = self._by_group.get(group)
        return len(running) if running else 0

    def complete(self, request: Request, now: float, ok: bool, smoothing: float = 0.1) -> None:
        entry = self._running.pop(request.id, None)
        if entry is None:
            return
        self._forget_end(request.id)
        start, est, _, group = entry
        if group:
            self._by_group[group].pop(request.id, None)
        if not ok:
            return
        took = max(0.0, now - start)
        self.observed = (
            took if not self.observed else (1 - smoothing) * self.observed + smoothing * took
        )
        if est > 0 and self.speeds.decode:
            ratio = min(5.0, max(0.2, took / (est / self.correction)))
            self.correction = (1 - smoothing) * self.correction + smoothing * ratio
