"""Whether a process we launched earlier still runs, for managers that outlive a command
(engine manager, job manager) and must tell a live child from a zombie or a reused pid."""

from __future__ import annotations

import os


def process_running(pid: int | None) -> bool:
    """True while ``pid`` exists and is neither a zombie nor dead (``Z``/``X`` in /proc)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True  # no /proc (not Linux) or exiting: the signal check said it exists
