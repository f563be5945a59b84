"""What every runtime offers the environment, and the job metrics it reports.

A runtime executes one compiled :class:`~sage.kernel.plan.PhysicalPlan` plus the job's
services. ``BaseEnvironment`` only talks to this interface, so ``RemoteEnvironment``
only has to return a different runtime from ``_create_runtime``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from sage.kernel.api.service import ServiceSpec
from sage.kernel.plan import PhysicalPlan
from sage.kernel.runtime.operators import OperatorMetrics


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
