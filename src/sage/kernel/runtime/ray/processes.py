"""Long-running processes placed on the cluster like dataflow tasks.

The control plane's engines are command lines (``python -m ... --port N``). To host them
on the same Ray cluster as pipelines, :func:`place_process` runs such a command inside a
small actor that declares the engine's resources (``{"num_gpus": 1}``, ``{"gpu_node":
1}``...) and goes to the node a scheduler policy chooses, with the same submit-time
feasibility check as a job. The actor only owns the child process (its output goes to a
log file on that node); the caller reaches the engine over HTTP at ``node_ip``. Ray
kills a worker's child processes when the worker dies, so killing the actor never leaves
an orphan engine behind.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray.exceptions import GetTimeoutError, RayActorError

import ray
from sage.common.errors import ConfigError, ResourceUnavailableError
from sage.kernel.runtime.ray.cluster import ensure_ray
from sage.kernel.runtime.ray.placement import placed_actor_options, plan_placements
from sage.kernel.scheduler import PlacementPolicy, TaskDemand, get_scheduler, normalize_resources

NAMESPACE = "sage"


def process_actor_name(name: str) -> str:
    return f"sage/process/{name}"


@ray.remote(num_cpus=0)
class ProcessHost:
    """Owns one child process on the node Ray placed this actor on."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str],
                 cwd: str | None) -> None:
        log_dir = Path(tempfile.gettempdir()) / "sage" / "processes"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}-{os.getpid()}.log"
        with open(self.log_path, "ab") as log:
            started = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"=== {started} start: {shlex.join(argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **env},
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)

    def info(self) -> dict[str, Any]:
        ctx = ray.get_runtime_context()
        return {"node_id": ctx.get_node_id(), "node_ip": ray.util.get_node_ip_address(),
                "pid": self.proc.pid, "log_path": str(self.log_path),
                "resources": dict(ctx.get_assigned_resources())}

    def poll(self) -> int | None:
        return self.proc.poll()

    def tail(self, lines: int = 40) -> str:
        with open(self.log_path, "rb") as f:
            return b"".join(deque(f, maxlen=lines)).decode("utf-8", "replace")

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@dataclass
class PlacedProcess:
    """Driver-side handle of a process placed by :func:`place_process`."""

    name: str
    actor: Any
    node_id: str
    node_ip: str
    pid: int
    log_path: str
    resources: dict[str, float]

    @classmethod
    def _from_actor(cls, name: str, actor: Any, timeout: float | None = None
                    ) -> PlacedProcess:
        try:
            info = ray.get(actor.info.remote(), timeout=timeout)
        except GetTimeoutError as exc:
            ray.kill(actor, no_restart=True)
            raise ResourceUnavailableError(
                f"process {name!r} could not be placed within {timeout:g}s: the resources "
                f"it needs are held by other work (free now: {ray.available_resources()})"
            ) from exc
        return cls(name=name, actor=actor, **info)

    def returncode(self) -> int | None:
        """``None`` while the process runs."""
        return ray.get(self.actor.poll.remote())  # type: ignore[no-any-return]

    def alive(self) -> bool:
        try:
            return self.returncode() is None
        except RayActorError:
            return False

    def tail(self, lines: int = 40) -> str:
        return ray.get(self.actor.tail.remote(lines))  # type: ignore[no-any-return]

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the process (SIGTERM, SIGKILL after ``timeout``), then its actor."""
        try:
            code: int | None = ray.get(self.actor.stop.remote(timeout))
        except RayActorError:
            code = None
        ray.kill(self.actor, no_restart=True)
        return code


def place_process(name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                  cwd: str | None = None, resources: Mapping[str, Any] | None = None,
                  scheduler: str | PlacementPolicy | None = "default",
                  address: str | None = None, detached: bool = False,
                  placement_timeout_s: float = 120.0) -> PlacedProcess:
    """Run ``argv`` on a cluster node that offers ``resources``, chosen by ``scheduler``.

    Raises :class:`~sage.common.errors.ResourceUnavailableError` at once when no node can
    ever offer the resources, or after ``placement_timeout_s`` when they exist but are
    busy. ``detached=True`` keeps the process after this driver exits; find it again
    with :func:`find_process`.
    """
    if not argv:
        raise ConfigError(f"process {name!r}: empty command line")
    ensure_ray(address)
    demand = TaskDemand(name, normalize_resources(resources))
    placement = plan_placements([demand], get_scheduler(scheduler)).get(name)
    options = placed_actor_options(demand, placement)
    options.update(name=process_actor_name(name), namespace=NAMESPACE, max_restarts=0)
    if detached:
        options["lifetime"] = "detached"
    actor = ProcessHost.options(**options).remote(name, list(argv), dict(env or {}), cwd)
    return PlacedProcess._from_actor(name, actor, placement_timeout_s)


def cluster_is_this_machine() -> bool:
    """True when the connected cluster is a single node on this machine, so a process
    placed on it can bind 127.0.0.1 and still be reached from here (otherwise it must
    listen on the node's network address)."""
    from sage.kernel.scheduler.cluster import live_nodes

    nodes = live_nodes()
    here = {"127.0.0.1", "localhost", ray.util.get_node_ip_address()}
    return len(nodes) == 1 and nodes[0].address in here


def cluster_address(requested: str | None = None) -> str | None:
    """The address another driver uses to join the connected cluster: a Ray Client
    ``ray://`` address as given, else the cluster's GCS ``HOST:PORT`` (which also
    reaches a local Ray started by this process, while it lives)."""
    if requested and requested.startswith("ray://"):
        return requested
    gcs: str | None = ray.get_runtime_context().gcs_address
    return gcs or requested


def cluster_reachable(address: str | None, timeout: float = 1.0) -> bool:
    """False when ``address`` is a ``HOST:PORT`` nobody listens on (a cluster that is
    gone: ``ray.init`` would retry it for a long time). Other addresses, or a Ray
    already initialised here, are left to Ray."""
    if ray.is_initialized() or not address or "://" in address or ":" not in address:
        return True
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def find_process(name: str, address: str | None = None) -> PlacedProcess:
    """The handle of a running (e.g. detached) process placed under ``name``."""
    ensure_ray(address)
    try:
        actor = ray.get_actor(process_actor_name(name), namespace=NAMESPACE)
    except ValueError as exc:
        raise ConfigError(f"no placed process named {name!r}") from exc
    return PlacedProcess._from_actor(name, actor)
