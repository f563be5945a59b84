"""``python -m sage.kernel.jobmanager.runner EXIT_FILE -- CMD...``: run a job's command
and record its exit code in a file.

The job manager starts this wrapper in its own process group, so a job's exit code is
known even when the job manager was restarted while the job ran (it cannot ``wait`` for
a process it did not start). SIGTERM/SIGINT are forwarded to the command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: runner EXIT_FILE -- CMD [ARGS...]", file=sys.stderr)
        return 2
    exit_file = Path(argv[0])
    cmd = argv[2:]
    try:
        proc = subprocess.Popen(cmd)
    except OSError as exc:
        print(f"sage job: cannot start {cmd[0]!r}: {exc}", file=sys.stderr, flush=True)
        exit_file.write_text("127")
        return 127

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = proc.wait()
    tmp = exit_file.with_suffix(".tmp")
    tmp.write_text(str(code))
    os.replace(tmp, exit_file)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
