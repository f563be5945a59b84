"""The persistent job table (SQLite, one file, safe to use from several threads).

The file is 0600 (its directory 0700), and it never holds the values of a job's
``env``: those can be secrets (``--env DB_PASSWORD=...``), so only their names are
stored and shown; the values live in the job's process only.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class JobStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED)


@dataclass
class JobRecord:
    id: str
    name: str
    entrypoint: list[str]
    status: JobStatus = JobStatus.PENDING
    working_dir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    resources: dict[str, float] = field(default_factory=dict)
    backend: str = "local"  # local | ray
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    log_path: str | None = None
    exit_code: int | None = None
    pid: int | None = None
    message: str = ""
    interpreter: str | None = None  # what ``python`` ran as (the job manager's own)
    limits: dict[str, int] = field(default_factory=dict)  # RLIMITs, see jobmanager.limits

    def to_dict(self) -> dict[str, Any]:
        """The job as the API shows it: ``env`` values redacted."""
        data = asdict(self)
        data["status"] = self.status.value
        data["env"] = redact(self.env)
        return data


REDACTED = "<redacted>"


def redact(env: dict[str, str]) -> dict[str, str]:
    """``env`` with its names kept and its values hidden."""
    return dict.fromkeys(env, REDACTED)


_COLUMNS = ("id", "name", "entrypoint", "status", "working_dir", "env", "resources",
            "backend", "submitted_at", "started_at", "ended_at", "log_path", "exit_code",
            "pid", "message", "interpreter", "limits")
_JSON = ("entrypoint", "env", "resources", "limits")
_ADDED = {"interpreter": "TEXT", "limits": "TEXT NOT NULL DEFAULT '{}'"}  # after version 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    entrypoint TEXT NOT NULL,
    status TEXT NOT NULL,
    working_dir TEXT,
    env TEXT NOT NULL,
    resources TEXT NOT NULL,
    backend TEXT NOT NULL,
    submitted_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    log_path TEXT,
    exit_code INTEGER,
    pid INTEGER,
    message TEXT NOT NULL DEFAULT '',
    interpreter TEXT,
    limits TEXT NOT NULL DEFAULT '{}'
)
"""


class JobStore:
    """CRUD over the ``jobs`` table; every write commits at once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):  # owner-only before SQLite opens it
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for column, kind in _ADDED.items():
            if column not in have:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
        self._db.commit()
        for suffix in ("", "-wal", "-shm"):  # tables written before this version too
            with contextlib.suppress(OSError):
                os.chmod(f"{self.path}{suffix}", 0o600)

    def _row(self, row: tuple[Any, ...]) -> JobRecord:
        data = dict(zip(_COLUMNS, row, strict=True))
        for key in _JSON:
            data[key] = json.loads(data[key])
        data["status"] = JobStatus(data["status"])
        return JobRecord(**data)

    def add(self, job: JobRecord) -> JobRecord:
        data = job.to_dict()  # env values redacted: never on disk
        values = [json.dumps(data[c]) if c in _JSON else data[c] for c in _COLUMNS]
        with self._lock:
            self._db.execute(f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES "
                             f"({', '.join('?' * len(_COLUMNS))})", values)
            self._db.commit()
        return job

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?",
                                   (job_id,)).fetchone()
        return self._row(row) if row else None

    def list(self, status: JobStatus | None = None) -> list[JobRecord]:
        query = f"SELECT {', '.join(_COLUMNS)} FROM jobs"
        args: tuple[Any, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            args = (status.value,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY submitted_at", args).fetchall()
        return [self._row(r) for r in rows]

    def update(self, job_id: str, **changes: Any) -> JobRecord | None:
        if not changes:
            return self.get(job_id)
        sets, values = [], []
        for key, value in changes.items():
            if key not in _COLUMNS or key == "id":
                raise KeyError(key)
            if isinstance(value, JobStatus):
                value = value.value
            elif key == "env":
                value = json.dumps(redact(value))
            elif key in _JSON:
                value = json.dumps(value)
            sets.append(f"{key} = ?")
            values.append(value)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?",
                             (*values, job_id))
            self._db.commit()
        return self.get(job_id)

    def delete(self, job_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            self._db.commit()
        return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
