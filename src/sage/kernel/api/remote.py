"""``RemoteEnvironment``: the dataflow API of ``LocalEnvironment``, run on Ray."""

from __future__ import annotations

from typing import Any

from sage.common.errors import ConfigError
from sage.kernel.api.environment import BaseEnvironment
from sage.kernel.core.job import Runtime
from sage.kernel.scheduler import PlacementPolicy, get_scheduler


class RemoteEnvironment(BaseEnvironment):
    """Runs the job on a Ray cluster, one actor per parallel task.

    ``address``: ``None`` starts (or reuses, within this process) a local Ray sized to
    the machine, GPUs included (inside a Ray job, ``RAY_ADDRESS`` wins), ``"auto"``
    joins the cluster started with ``ray start``, ``"ray://host:10001"`` goes through
    Ray Client. ``scheduler``: ``default``, ``spread``, ``pack``,
    ``load_aware`` or a registered/instance :class:`PlacementPolicy`.
    Extra ``config`` keys: ``max_inflight`` (unacknowledged batches per edge, 4) and
    ``max_restarts`` (0: a dead actor fails the job; N or -1: Ray restarts it and
    upstream tasks replay unacknowledged batches, at-least-once) and
    ``placement_timeout_s`` (120: how long actors may wait for busy resources).
    """

    def __init__(self, name: str = "sage_job", config: dict[str, Any] | None = None,
                 address: str | None = None,
                 scheduler: str | PlacementPolicy | None = "default",
                 max_restarts: int | None = None) -> None:
        super().__init__(name, config)
        self.address = address
        get_scheduler(scheduler)  # an unknown policy is a ConfigError here, not at submit
        self.scheduler = scheduler
        self.max_inflight = int(self.config.get("max_inflight", 4))
        restarts = max_restarts if max_restarts is not None else \
            self.config.get("max_restarts", 0)
        self.max_restarts = int(restarts)
        self.placement_timeout_s = float(self.config.get("placement_timeout_s", 120.0))
        if self.max_inflight < 1:
            raise ConfigError("max_inflight must be >= 1")

    def _create_runtime(self) -> Runtime:
        from sage.kernel.runtime.ray.runtime import RayRuntime

        return RayRuntime(self.address, self.scheduler, self.max_inflight,
                          self.max_restarts, self.placement_timeout_s)
