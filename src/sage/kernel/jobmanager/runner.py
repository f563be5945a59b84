"""``python -m sage.kernel.jobmanager.runner EXIT_FILE [--limits JSON] -- CMD...``: run a
job's command and record its exit code in a file.

The job manager starts this wrapper in its own session (process group), so a job's exit
code is known even when the job manager was restarted while the job ran (it cannot
``wait`` for a process it did not start). The wrapper is a child subreaper, so processes
that leave the group with ``setsid`` stay its descendants (see :mod:`.process_tree`),
applies the job's RLIMITs (:mod:`.limits`), and forwards SIGTERM/SIGINT to the command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from sage.kernel.jobmanager.limits import apply_limits
from sage.kernel.jobmanager.process_tree import become_subreaper


def main(argv: list[str]) -> int:
    limits: dict[str, int] = {}
    if len(argv) >= 3 and argv[1] == "--limits":
        limits = json.loads(argv[2])
        argv = [argv[0], *argv[3:]]
    if len(argv) < 3 or argv[1] != "--":
        print("usage: runner EXIT_FILE [--limits JSON] -- CMD [ARGS...]", file=sys.stderr)
        return 2
    exit_file = Path(argv[0])
    cmd = argv[2:]
    become_subreaper()
    try:
        apply_limits(limits)
        proc = subprocess.Popen(cmd)
    except (OSError, ValueError) as exc:
        print(f"sage job: cannot start {cmd[0]!r}: {exc}", file=sys.stderr, flush=True)
        _write_exit(exit_file, 127)
        return 127

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = proc.wait()
    _write_exit(exit_file, code)
    return code if code >= 0 else 128 - code


def _write_exit(exit_file: Path, code: int) -> None:
    tmp = exit_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(str(code))
    os.replace(tmp, exit_file)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
