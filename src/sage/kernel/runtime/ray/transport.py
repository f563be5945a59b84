"""Actor-to-actor delivery of micro-batches with bounded in-flight batches per edge.

Each task keeps one :class:`Outbox` per destination task. ``send`` submits
``dst.push.remote(channel, batch)`` and remembers the ObjectRef; once ``max_inflight``
batches are unacknowledged it blocks on the oldest (calls from one caller run in order,
so the oldest finishes first): that is the backpressure, without any queue actor or
polling. Feedback edges never block (a cycle must not wait on itself).

When the destination actor dies and ``restartable`` is set, the outbox waits for Ray to
restart it and re-sends every unacknowledged batch in order ("replay from the last
acknowledged batch"); otherwise :class:`DownstreamLost` stops this task quietly (the
driver reports the dead task itself).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ray.exceptions import ActorUnavailableError, RayActorError

import ray
from sage.kernel.plan import PlanEdge
from sage.kernel.runtime.task import EOS

_ACTOR_GONE = (RayActorError, ActorUnavailableError)


class DownstreamLost(Exception):
    """A destination actor died for good (or restarts are off)."""


class Outbox:
    """Unacknowledged pushes to one destination task (see module docstring)."""

    def __init__(self, handle: Any, name: str, max_inflight: int, bounded: bool,
                 restartable: bool, max_replays: int) -> None:
        self.handle = handle
        self.name = name
        self.max_inflight = max_inflight
        self.bounded = bounded
        self.restartable = restartable
        self.max_replays = max_replays
        self.replays = 0
        self.unacked: deque[tuple[int, Any, Any]] = deque()  # (channel, payload, ref)
        self.eos_channels: set[int] = set()  # channels whose EOS was acknowledged
        self.peak = 0

    def push(self, channel: int, payload: Any) -> None:
        if self.bounded:
            while len(self.unacked) >= self.max_inflight:
                self._ack_oldest()
        elif len(self.unacked) >= 4 * self.max_inflight:
            self._prune()
        ref = self.handle.push.remote(channel, payload)
        self.unacked.append((channel, payload, ref))
        if len(self.unacked) > self.peak:
            self.peak = len(self.unacked)

    def _ack_oldest(self) -> None:
        channel, payload, ref = self.unacked[0]
        try:
            ray.get(ref)
        except _ACTOR_GONE as exc:
            self._replay(exc)
            return
        self.unacked.popleft()
        if payload is EOS:
            self.eos_channels.add(channel)

    def _prune(self) -> None:
        refs = [r for _, _, r in self.unacked]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        done = set(ready)
        while self.unacked and self.unacked[0][2] in done:
            self._ack_oldest()

    def _replay(self, exc: BaseException) -> None:
        """The destination died: re-send everything unacknowledged to its new incarnation."""
        if not self.restartable or self.replays >= self.max_replays:
            raise DownstreamLost(f"{self.name}: {type(exc).__name__}") from exc
        self.replays += 1
        pending = [(c, p) for c, p, _ in self.unacked]
        self.unacked.clear()
        for channel, payload in pending:
            self.unacked.append((channel, payload, self.handle.push.remote(channel, payload)))

    def drain(self) -> None:
        while self.unacked:
            self._ack_oldest()

    def resend_eos(self) -> None:
        """After the destination restarted: its end-of-stream bookkeeping is lost."""
        for channel in sorted(self.eos_channels):
            self.unacked.append((channel, EOS, self.handle.push.remote(channel, EOS)))


class ActorTransport:
    """:class:`~sage.kernel.runtime.task.Transport` for a task running inside an actor."""

    def __init__(self, resolve: Callable[[str, int], Any], max_inflight: int,
                 restartable: bool, max_replays: int) -> None:
        self._resolve = resolve
        self.max_inflight = max_inflight
        self.restartable = restartable
        self.max_replays = max_replays
        self.outboxes: dict[tuple[str, int, bool], Outbox] = {}
        self.lock = threading.RLock()  # the control thread may resync concurrently

    def _outbox(self, edge: PlanEdge, dst_index: int) -> Outbox:
        key = (edge.dst_stage, dst_index, edge.feedback)
        box = self.outboxes.get(key)
        if box is None:
            box = Outbox(self._resolve(edge.dst_stage, dst_index),
                         f"{edge.dst_stage}[{dst_index}]", self.max_inflight,
                         bounded=not edge.feedback, restartable=self.restartable,
                         max_replays=self.max_replays)
            self.outboxes[key] = box
        return box

    def send(self, edge: PlanEdge, dst_index: int, channel: int, batch: list[Any]) -> None:
        with self.lock:
            self._outbox(edge, dst_index).push(channel, batch)

    def send_eos(self, edge: PlanEdge, dst_index: int, channel: int) -> None:
        with self.lock:
            self._outbox(edge, dst_index).push(channel, EOS)

    def drain(self) -> None:
        """Block until every destination acknowledged every batch sent so far (feedback
        edges excluded: waiting on a cycle could wait on itself)."""
        with self.lock:
            for box in self.outboxes.values():
                if box.bounded:
                    box.drain()

    def resync(self, dst_stage: str, dst_index: int) -> None:
        with self.lock:
            for (stage, index, _), box in self.outboxes.items():
                if stage == dst_stage and index == dst_index:
                    box.resend_eos()

    def peaks(self) -> dict[str, int]:
        return {box.name: box.peak for box in self.outboxes.values()}
