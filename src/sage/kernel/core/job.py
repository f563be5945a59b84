"""The contract between an environment and a runtime: what a job hands over (the
compiled :class:`~sage.kernel.plan.PhysicalPlan` and its :class:`ServiceSpec` list),
what every runtime offers (:class:`Runtime`) and the metrics it reports.

``BaseEnvironment`` only talks to this interface, so ``RemoteEnvironment`` only has to
return a different runtime from ``_create_runtime``. It sits below both the API and the
runtimes, so neither imports the other to share it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from sage.kernel.plan import PhysicalPlan


@dataclass(frozen=True)
class ServiceSpec:
    """A registered service: how to build it and what it needs to be placed (the local
    runtime records ``resources``, the Ray runtime places the service actor by them)."""

    name: str
    factory: Any
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass
class OperatorMetrics:
    """Record counts of one operator (one task's, or summed over its instances)."""

    records_in: int = 0
    records_out: int = 0
    skipped: int = 0
    dead_lettered: int = 0

    def add(self, other: OperatorMetrics) -> None:
        self.records_in += other.records_in
        self.records_out += other.records_out
        self.skipped += other.skipped
        self.dead_lettered += other.dead_lettered

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class JobMetrics:
    """Per-operator record counts (summed over parallel instances) and job facts."""

    job_name: str
    status: str = "created"  # created | running | finished | failed | stopped
    operators: dict[str, OperatorMetrics] = field(default_factory=dict)
    duration_s: float = 0.0
    # part of duration_s spent before records could flow: placing and starting every task
    # (Ray: actor processes; local: threads, ~0)
    startup_s: float = 0.0
    channel_peaks: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def skipped(self) -> int:
        return sum(m.skipped for m in self.operators.values())

    @property
    def dead_lettered(self) -> int:
        return sum(m.dead_lettered for m in self.operators.values())

    def __getitem__(self, operator: str) -> OperatorMetrics:
        return self.operators[operator]

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job_name,
            "status": self.status,
            "duration_s": self.duration_s,
            "startup_s": self.startup_s,
            "skipped": self.skipped,
            "dead_lettered": self.dead_lettered,
            "operators": {k: v.to_dict() for k, v in self.operators.items()},
            "channel_peaks": dict(self.channel_peaks),
            "error": self.error,
        }


class Runtime(ABC):
    """Executes one job. ``start`` returns at once; ``wait`` blocks until done."""

    @abstractmethod
    def start(self, plan: PhysicalPlan, services: list[ServiceSpec]) -> None: ...

    @abstractmethod
    def wait(self, timeout: float | None = None) -> bool:
        """``True`` once the job has ended; raises ``JobFailedError`` if it failed."""

    @abstractmethod
    def stop(self) -> None:
        """Ask sources to stop; the job then drains. Returns at once."""

    @abstractmethod
    def metrics(self) -> JobMetrics: ...

    @property
    @abstractmethod
    def running(self) -> bool: ...
