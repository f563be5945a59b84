"""Finding every process a job started, including ones that left its process group.

A job's runner is its session leader, so ``killpg`` reaches what stays in the group.
A grandchild that called ``setsid`` (a daemon, ``nohup setsid ...``) escapes it; two
nets catch it: the runner is a *child subreaper* (Linux ``prctl``), so such orphans stay
its descendants, and every job process carries ``SAGE_JOB_ID`` in its environment,
found in ``/proc`` even when the process was re-parented elsewhere.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
PROC = Path("/proc")


def become_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process (Linux); False elsewhere."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _parents() -> dict[int, int]:
    """``pid -> parent pid`` of every visible process."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    return parents


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (not ``pid`` itself)."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def tagged(job_id: str) -> set[int]:
    """Processes whose environment says ``SAGE_JOB_ID=job_id`` (ours: same user)."""
    tag = f"SAGE_JOB_ID={job_id}".encode()
    found: set[int] = set()
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int(entry.name) != os.getpid() and tag in (entry / "environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
    return found


def job_processes(pid: int, job_id: str) -> set[int]:
    """The runner ``pid``, its descendants and every process tagged with ``job_id``."""
    return {pid} | descendants(pid) | tagged(job_id)


def signal_all(pids: set[int], sig: int = signal.SIGTERM) -> int:
    """Signal each of ``pids`` (their groups too); how many were still there."""
    alive = 0
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            alive += 1
    return alive
