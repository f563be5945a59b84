"""Engines in Ray actors: the same command line, run on the node the placement's
scheduler picks (:func:`sage.kernel.runtime.ray.processes.place_process`), so one
cluster hosts pipelines and engines. Ray is imported only when such an engine starts."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from sage.common.errors import ConfigError
from sage.common.logging import get_logger
from sage.llm.engines.cpu_env import remote_environment
from sage.llm.engines.launch import cluster_bind, engine_command
from sage.llm.engines.spec import EngineInfo, EngineStatus, RayPlacement, RayProcessRef
from sage.llm.exposure import is_loopback
from sage.llm.launchers.base import LaunchContext, health_ok
from sage.llm.launchers.managed import ManagedLauncher
from sage.llm.launchers.placement import discover_device_group, this_host

if TYPE_CHECKING:
    from sage.kernel.runtime.ray.processes import PlacedProcess

log = get_logger("sage.llm.engine_manager")


def ray_address_for(placement: RayPlacement, detached: bool) -> str | None:
    """The Ray cluster a placement goes to. ``None`` (a fresh local Ray, or the one this
    process already uses) would die with this process, so a detached engine joins the
    running cluster instead (``RAY_ADDRESS``, else ``"auto"``)."""
    if placement.address or not detached:
        return placement.address
    return os.environ.get("RAY_ADDRESS") or "auto"


def connect_ray(address: str | None) -> None:
    """Join (or start) the Ray cluster, with a hint instead of Ray's bare error."""
    from sage.kernel.runtime.ray.cluster import ensure_ray

    try:
        ensure_ray(address)
    except ConnectionError as exc:
        raise ConfigError(
            f"no Ray cluster answers at {address}: start one with `ray start --head` or "
            "pass its address (--ray-address HOST:6379 or ray://HOST:10001); a cluster "
            f"with Ray's token auth also needs RAY_AUTH_MODE=token here: {exc}"
        ) from exc


class RayLauncher(ManagedLauncher):
    """Places the engine's process in a Ray actor; reached over HTTP on its node."""

    def __init__(self, ctx: LaunchContext) -> None:
        super().__init__(ctx)
        self._placed: dict[str, PlacedProcess] = {}  # actor handles by engine id
        self._lock = threading.Lock()

    def launch(self, info: EngineInfo) -> None:
        from sage.kernel.runtime.ray.processes import (
            cluster_address,
            cluster_is_this_machine,
            place_process,
        )

        placement = info.spec.placement
        assert placement is not None
        detached = info.owner_pid is None  # tied to its owner, as a local engine is
        address = info.ray.address if info.ray else ray_address_for(placement, detached)
        connect_ray(address)
        here = cluster_is_this_machine()
        spec = cluster_bind(info.spec, here)
        # No --parent-pid: Ray ties a non-detached actor (and its child) to this process.
        argv, extra_env = engine_command(spec, spec.port or 0)
        name = f"engine-{info.id}-{uuid.uuid4().hex[:8]}"  # new per launch: restarts never clash
        placed = place_process(
            name,
            argv,
            env=remote_environment(extra_env),
            resources=placement.resources,
            scheduler=placement.scheduler,
            address=address,
            detached=detached,
            placement_timeout_s=placement.placement_timeout_s,
        )
        with self._lock:
            self._placed[info.id] = placed
        host = spec.host if is_loopback(spec.host) else placed.node_ip
        info.spec = spec  # with the bind and key it got: restarts and the gateway reuse them
        discover_device_group(info, this_host() if here else placed.node_ip)
        info.url = f"http://{host}:{spec.port}"
        info.pid = placed.pid  # on its node
        info.log_path = Path(placed.log_path)  # on its node
        info.ray = RayProcessRef(
            name=name,
            address=cluster_address(address),
            node_id=placed.node_id,
            node_ip=placed.node_ip,
        )
        info.status = EngineStatus.STARTING
        info.started_at = time.time()
        self.ctx.save(info)
        log.info(
            "engine %s (%s) placed on Ray node %s, starting on %s, pid %d",
            info.id, spec.backend, placed.node_ip, info.url, placed.pid,
        )  # fmt: skip

    def placed(self, info: EngineInfo) -> PlacedProcess | None:
        """The actor handle of a Ray-placed engine (found on its cluster when another
        process placed it); ``None`` when the actor or the cluster is gone."""
        with self._lock:
            placed = self._placed.get(info.id)
        if placed is not None or info.ray is None:
            return placed
        from ray.exceptions import RayActorError

        from sage.kernel.runtime.ray.processes import cluster_reachable, find_process

        if not cluster_reachable(info.ray.address):
            return None
        try:
            connect_ray(info.ray.address)
            placed = find_process(info.ray.name, info.ray.address)
        except (ConfigError, RayActorError):
            return None
        with self._lock:
            self._placed[info.id] = placed
        return placed

    def exit_code(self, info: EngineInfo) -> str | None:
        from ray.exceptions import RayActorError

        placed = self.placed(info)
        try:
            code = placed.returncode() if placed is not None else "?"
        except RayActorError:
            code = "?"
        return None if code is None else str(code)

    def where(self, info: EngineInfo) -> str:
        if info.ray is None:
            return str(info.log_path)
        return f"{info.log_path} on {info.ray.node_ip} (`sage engine logs {info.id}`)"

    def log_tail(self, info: EngineInfo, lines: int) -> str:
        """From the log file when it is on this machine, else through the engine's actor."""
        if info.log_path is not None and Path(info.log_path).exists():
            from sage.llm.launchers.process import tail

            return tail(info.log_path, lines)
        from ray.exceptions import RayActorError

        placed = self.placed(info)
        if placed is None:
            return ""
        try:
            return placed.tail(lines)
        except RayActorError:
            return ""

    def alive(self, info: EngineInfo) -> bool:
        placed = self.placed(info)
        return placed is not None and placed.alive()

    def status(self, info: EngineInfo) -> EngineStatus:
        if health_ok(info.url, info.spec.api_key):
            return EngineStatus.HEALTHY
        if not self.alive(info):  # the cluster only when silent
            return EngineStatus.DEAD
        return EngineStatus.UNHEALTHY if info.status is not EngineStatus.STARTING else info.status

    def listed_status(self, info: EngineInfo) -> EngineStatus:
        return info.status  # from status(), on refresh: no cluster round trip here

    def gone(self, info: EngineInfo) -> bool:
        return True  # a non-detached actor died with its owner (Ray fate-shares them)

    def interrupt(self, info: EngineInfo) -> None:
        return None  # stopped one by one, through its actor

    def stop(self, info: EngineInfo, timeout: float = 10.0) -> None:
        """Stop the engine's process (SIGTERM, SIGKILL after ``timeout``) and its actor."""
        placed = self.placed(info)
        self.forget(info.id)
        if placed is not None:
            placed.stop(timeout)
        info.status = EngineStatus.STOPPED

    def forget(self, engine_id: str) -> None:
        with self._lock:
            self._placed.pop(engine_id, None)
