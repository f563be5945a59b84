"""Placement policies: which node each task of a job goes to.

A policy is pure: ``place(demands, nodes) -> list[Placement]`` over plain
:class:`~sage.kernel.scheduler.resources.NodeInfo` records, so it runs the same on a
live cluster and on fake node lists in tests. Register your own with
:func:`register_scheduler` (or the :data:`PLACEMENT_POLICIES` registry) and pass its
name (or an instance) as ``RemoteEnvironment(..., scheduler=...)``.

``PlacementPolicy`` decides where *tasks* run; the control plane's request policies
(``sage.llm``) decide which engine serves a *request*: different names on purpose.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from sage.common.errors import ConfigError, ResourceUnavailableError
from sage.common.registry import Registry
from sage.kernel.scheduler.resources import NodeInfo, Placement, TaskDemand

RESERVATION_STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


class PlacementPolicy:
    """Base class: decide a :class:`Placement` for every demand, in order.

    ``reservation``: ``None`` places a job's actors one by one (a job can then half-start
    and wait for the rest); one of :data:`RESERVATION_STRATEGIES` makes the Ray runtime
    reserve every actor of the job at once, as one placement group with that strategy,
    before any actor starts (all-or-nothing). The nodes chosen by :meth:`place` still
    decide where each bundle goes; the strategy covers the tasks left without a node.
    """

    name = "base"
    reservation: str | None = None

    def place(self, demands: Sequence[TaskDemand], nodes: Sequence[NodeInfo]) -> list[Placement]:
        raise NotImplementedError

    @staticmethod
    def _alive(nodes: Sequence[NodeInfo]) -> list[NodeInfo]:
        alive = [n for n in nodes if n.alive]
        if not alive:
            raise ResourceUnavailableError("no alive node to place tasks on")
        return alive

    @staticmethod
    def _reserve(free: dict[str, float], demand: TaskDemand) -> None:
        for k, v in demand.resources.items():
            free[k] = free.get(k, 0.0) - v


class DefaultPolicy(PlacementPolicy):
    """Let Ray's own scheduler choose (it honours the declared resources)."""

    name = "default"

    def place(self, demands: Sequence[TaskDemand], nodes: Sequence[NodeInfo]) -> list[Placement]:
        return [Placement(d.name) for d in demands]


class SpreadPolicy(PlacementPolicy):
    """Round-robin over the nodes that can host each task (fault isolation, bandwidth)."""

    name = "spread"
    reservation = "SPREAD"

    def place(self, demands: Sequence[TaskDemand], nodes: Sequence[NodeInfo]) -> list[Placement]:
        alive = sorted(self._alive(nodes), key=lambda n: n.node_id)
        free = {n.node_id: dict(n.total) for n in alive}
        counts = {n.node_id: 0 for n in alive}
        out = []
        for d in demands:
            fitting = [n for n in alive if n.fits(d.resources, free[n.node_id])] or \
                [n for n in alive if n.fits(d.resources)]
            if not fitting:
                raise ResourceUnavailableError(f"{d.name}: no node can host {d.resources}")
            node = min(fitting, key=lambda n: counts[n.node_id])
            counts[node.node_id] += 1
            self._reserve(free[node.node_id], d)
            out.append(Placement(d.name, node.node_id))
        return out


class PackPolicy(PlacementPolicy):
    """Fill nodes one after another (fewest nodes, cheapest hops between tasks)."""

    name = "pack"
    reservation = "PACK"

    def place(self, demands: Sequence[TaskDemand], nodes: Sequence[NodeInfo]) -> list[Placement]:
        alive = sorted(self._alive(nodes), key=lambda n: (-sum(n.total.values()), n.node_id))
        free = {n.node_id: dict(n.total) for n in alive}
        used: list[str] = []
        out = []
        for d in demands:
            order = [n for n in alive if n.node_id in used] + \
                [n for n in alive if n.node_id not in used]
            node = next((n for n in order if n.fits(d.resources, free[n.node_id])), None)
            if node is None:  # over-subscribed: stay on the first node that could fit
                node = next((n for n in order if n.fits(d.resources)), None)
            if node is None:
                raise ResourceUnavailableError(f"{d.name}: no node can host {d.resources}")
            if node.node_id not in used:
                used.append(node.node_id)
            self._reserve(free[node.node_id], d)
            out.append(Placement(d.name, node.node_id))
        return out


class LoadAwarePolicy(PlacementPolicy):
    """Put each task on the least-loaded node that fits, by live ``available`` resources
    (what ``ray.available_resources()`` per node says), counting earlier choices."""

    name = "load_aware"

    def place(self, demands: Sequence[TaskDemand], nodes: Sequence[NodeInfo]) -> list[Placement]:
        alive = self._alive(nodes)
        free = {n.node_id: dict(n.available or n.total) for n in alive}
        extra = {n.node_id: 0 for n in alive}  # tasks placed by this call
        out = []

        def load(n: NodeInfo) -> tuple[float, int, str]:
            cpus = n.total.get("CPU", 0.0)
            busy = (cpus - free[n.node_id].get("CPU", 0.0)) / cpus if cpus else n.load()
            return (busy + extra[n.node_id] / max(cpus, 1.0), extra[n.node_id], n.node_id)

        for d in demands:
            fitting = [n for n in alive if n.fits(d.resources, free[n.node_id])] or \
                [n for n in alive if n.fits(d.resources)]
            if not fitting:
                raise ResourceUnavailableError(f"{d.name}: no node can host {d.resources}")
            node = min(fitting, key=load)
            self._reserve(free[node.node_id], d)
            extra[node.node_id] += 1
            out.append(Placement(d.name, node.node_id))
        return out


PLACEMENT_POLICIES: Registry[Callable[[], PlacementPolicy]] = Registry("scheduler")
for _policy in (DefaultPolicy, SpreadPolicy, PackPolicy, LoadAwarePolicy):
    PLACEMENT_POLICIES.register(_policy.name, _policy)


def register_scheduler(name: str, factory: Callable[[], PlacementPolicy]) -> None:
    """Make a policy (a ``PlacementPolicy`` subclass or factory) available by name."""
    if not name or not callable(factory):
        raise ConfigError("register_scheduler needs a name and a policy class/factory")
    PLACEMENT_POLICIES.register(name, factory, replace=True)


def get_scheduler(policy: str | PlacementPolicy | type[PlacementPolicy] | None
                  ) -> PlacementPolicy:
    """A policy instance from a name, an instance, a class or ``None`` (``default``)."""
    if policy is None:
        instance: PlacementPolicy = DefaultPolicy()
    elif isinstance(policy, PlacementPolicy):
        instance = policy
    elif isinstance(policy, type) and issubclass(policy, PlacementPolicy):
        instance = policy()
    else:
        instance = PLACEMENT_POLICIES.get(str(policy))()
    if instance.reservation not in (None, *RESERVATION_STRATEGIES):
        raise ConfigError(f"scheduler {instance.name!r}: reservation must be None or one of "
                          f"{', '.join(RESERVATION_STRATEGIES)}, got {instance.reservation!r}")
    return instance


def available_schedulers() -> list[str]:
    return PLACEMENT_POLICIES.names()


def __getattr__(name: str) -> Any:
    if name == "SchedulerPolicy":
        warnings.warn("SchedulerPolicy is now PlacementPolicy", DeprecationWarning,
                      stacklevel=2)
        return PlacementPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
