"""Engine launchers: how the engine manager runs an engine, chosen by name in
:data:`LAUNCHERS` (``process``, ``ray``, ``external``; see :func:`launcher_name`)."""

from sage.llm.launchers.base import (
    LAUNCHERS,
    EngineStartError,
    LaunchContext,
    Launcher,
    health_ok,
    launcher_name,
)
from sage.llm.launchers.external import ExternalLauncher
from sage.llm.launchers.process import ProcessLauncher, pid_alive, tail
from sage.llm.launchers.ray_actor import RayLauncher, ray_address_for

LAUNCHERS.register("process", ProcessLauncher)
LAUNCHERS.register("ray", RayLauncher)
LAUNCHERS.register("external", ExternalLauncher)

__all__ = [
    "LAUNCHERS",
    "EngineStartError",
    "ExternalLauncher",
    "LaunchContext",
    "Launcher",
    "ProcessLauncher",
    "RayLauncher",
    "health_ok",
    "launcher_name",
    "pid_alive",
    "ray_address_for",
    "tail",
]
