"""The one interface every request policy implements (registry: ``registry.py``).

A policy owns its pending queue so each can keep the structure it needs (a deque
for FIFO, heaps for priority and EDF, per-tenant queues for fair share). The
caller (live dispatcher or simulator) drives it with three calls:

* ``admit`` + ``enqueue`` when a request arrives,
* ``schedule(engines, now)`` after any event (arrival, completion, wake-up); the
  caller sends each returned :class:`Dispatch` and counts it in flight,
* ``next_wakeup(now)`` to learn when to call ``schedule`` again with no new event
  (micro-batch flush deadlines),
* ``expire(now)`` before each ``schedule``: queued requests that can no longer meet
  their deadline, which the caller answers (``expiry.DeadlineExpiry``).

Policies never sleep, never do I/O and never read a real clock: ``now`` is given.

``engines`` is any ``Sequence[EngineState]``. The built-in policies are
:class:`PlacingPolicy` subclasses: they place through a slot ledger, which is the index
of an :class:`~sage.llm.control_plane.pool.EnginePool` when the caller passes one (the
live dispatcher and the simulator do) and a scan of the list otherwise; same decisions.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from sage.llm.control_plane.policies.placement import Ledger, open_ledger
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import Dispatch, EngineState, Request


class PolicyOptions(BaseModel):
    """A policy's options (none here). Each policy with options subclasses it as its
    ``Options``; a missing, mistyped or out-of-range option is refused before the policy
    is built (``extra="forbid"``, ``strict``: ``"2"`` is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RequestPolicy(ABC):
    """Base class: queue bookkeeping plus the ``schedule`` decision.

    ``Options``: the :class:`PolicyOptions` model its keyword options must pass.
    ``idle_pure``: a ``schedule`` pass that can place nothing changes no state, so a
    caller (the simulator) may skip passes while no queued request has a free engine of
    its kind. A subclass that overrides ``place`` or ``schedule`` must say so again.
    """

    name: ClassVar[str] = "base"
    Options: ClassVar[type[PolicyOptions]] = PolicyOptions
    idle_pure: bool = False

    def __init__(self, max_queue: int = 1024) -> None:
        self.max_queue = max_queue

    # -- queue -----------------------------------------------------------------
    @abstractmethod
    def enqueue(self, request: Request, now: float) -> None:
        """Add an admitted request to the pending queue."""

    @abstractmethod
    def remove(self, request_id: str) -> Request | None:
        """Drop a pending request (cancelled or timed out); ``None`` if not queued."""

    @abstractmethod
    def pending(self) -> list[Request]:
        """Every queued request (any order); for metrics, draining and migration."""

    @abstractmethod
    def __len__(self) -> int: ...

    # -- decisions ---------------------------------------------------------------
    def admit(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        """Whether to accept ``request``; the default bounds the queue length."""
        return len(self) < self.max_queue

    @abstractmethod
    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        """Choose what to send where now. Must not over-fill an engine's free slots."""

    def next_wakeup(self, now: float) -> float | None:
        """Absolute time at which ``schedule`` should run again with no event, if any
        (also when :meth:`expire` may have something to return)."""
        return None

    def unchanged_until(self, now: float) -> float:
        """After a pass at ``now``, with no event and no expiry since: until when another
        pass would decide nothing new, so a caller may skip it (the simulator, at a
        wake-up for a finished request's deadline). Default: no promise."""
        return now

    def expire(self, now: float) -> list[Request]:
        """Remove and return queued requests this policy knows can no longer meet their
        deadline although it has not passed yet (its speed estimates say so); the caller
        answers them. One past its deadline the caller expires itself. Default: none."""
        return []

    def on_complete(self, request: Request, engine_id: str, now: float, ok: bool) -> None:  # noqa: B027
        """Hook for policies that learn from completions (default: nothing)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "max_queue": self.max_queue, "pending": len(self)}


class PlacingPolicy(RequestPolicy):
    """A policy whose ``schedule`` is :meth:`place` over a slot ledger for ``engines``.

    A composite policy (``hybrid``) hands its inner policy the same ledger, so the inner
    pass sees the slots the outer one already took.
    """

    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        if not len(self):
            return []
        if isinstance(engines, EnginePool) and engines.indexed:  # open_ledger, inlined
            return self.place(engines.open_pass(), now)
        return self.place(open_ledger(engines), now)

    @abstractmethod
    def place(self, ledger: Ledger, now: float) -> list[Dispatch]:
        """``schedule``'s decision: ``ledger.take`` each engine slot a dispatch uses."""


def __getattr__(name: str) -> Any:
    if name == "SchedulingPolicy":
        warnings.warn(
            "SchedulingPolicy is deprecated; use RequestPolicy", DeprecationWarning, stacklevel=2
        )
        return RequestPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
