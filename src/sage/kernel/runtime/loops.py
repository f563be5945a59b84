"""Termination of feedback loops (``from_future``/``fill_future``) without timers.

End-of-stream cannot travel around a cycle, so a loop ends by *quiescence*: every loop
task with inputs from outside the loop has seen those inputs end, and no record is in
flight inside the loop. Records are counted in when a task buffers them for an edge
inside the loop and counted out after the receiving task has processed them (its own
outputs are already counted in by then), so the count reaches zero only when the loop
is really idle. The tracker then calls ``on_quiescent`` once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sage.kernel.plan import LoopSpec


class LocalLoopTracker:
    """Thread-safe in-flight counter for one loop (the Ray runtime can host it in an actor)."""

    def __init__(self, spec: LoopSpec, on_quiescent: Callable[[], None]) -> None:
        self.spec = spec
        self._on_quiescent = on_quiescent
        self._lock = threading.Lock()
        self.inflight = 0
        self.pending_external = spec.external_tasks
        self.fired = False

    def add(self, n: int) -> None:
        with self._lock:
            self.inflight += n

    def done(self, n: int) -> None:
        with self._lock:
            self.inflight -= n
            fire = self._should_fire()
        if fire:
            self._on_quiescent()

    def external_done(self) -> None:
        with self._lock:
            self.pending_external -= 1
            fire = self._should_fire()
        if fire:
            self._on_quiescent()

    def start(self) -> None:
        """Fire at once when the loop has no external input at all."""
        with self._lock:
            fire = self._should_fire()
        if fire:
            self._on_quiescent()

    def _should_fire(self) -> bool:
        if not self.fired and self.pending_external <= 0 and self.inflight == 0:
            self.fired = True
            return True
        return False
