"""What a running function instance knows about itself (``self.ctx``)."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol


class ServiceCaller(Protocol):
    """How a runtime lets functions call services (local threads or Ray actors)."""

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
             method: str | None, timeout: float | None) -> Any: ...

    def call_async(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                   method: str | None) -> Future[Any]: ...


@dataclass
class TaskContext:
    """Per-instance runtime facts, set before ``open()`` is called."""

    job_name: str
    task_name: str
    operator_name: str
    index: int
    parallelism: int
    logger: logging.Logger
    services: ServiceCaller | None = None
    current_key: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
