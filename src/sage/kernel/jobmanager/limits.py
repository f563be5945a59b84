"""Per-job resource limits, applied as RLIMITs by the job's runner before it starts the
command (inherited by everything the job spawns). ``sage job submit --limit memory_mb=512``."""

from __future__ import annotations

import resource

from sage.common.errors import ConfigError

# name -> (RLIMIT, multiplier to the RLIMIT's unit)
LIMITS: dict[str, tuple[int, int]] = {
    "memory_mb": (resource.RLIMIT_AS, 1 << 20),
    "cpu_s": (resource.RLIMIT_CPU, 1),
    "open_files": (resource.RLIMIT_NOFILE, 1),
    "processes": (resource.RLIMIT_NPROC, 1),
    "file_mb": (resource.RLIMIT_FSIZE, 1 << 20),
}


def check_limits(limits: dict[str, int]) -> dict[str, int]:
    """``limits`` if every name is known and every value positive; ``ValueError`` else."""
    for name, value in limits.items():
        if name not in LIMITS:
            raise ConfigError(f"unknown limit {name!r}; known: {', '.join(LIMITS)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"limit {name} must be a positive integer, not {value!r}")
    return dict(limits)


def apply_limits(limits: dict[str, int]) -> None:
    """Lower this process's soft and hard limits (never raise them)."""
    for name, value in check_limits(limits).items():
        which, unit = LIMITS[name]
        soft, hard = resource.getrlimit(which)
        wanted = value * unit
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        resource.setrlimit(which, (wanted, wanted))
