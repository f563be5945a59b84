"""The file that lists managed engines (``<home>/engines/registry.json``), so
``sage engine list`` in another shell sees what this one started. Every change is a
locked read-modify-write."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sage.common.logging import get_logger
from sage.llm.engines.spec import EngineInfo, EngineSpec

log = get_logger("sage.llm.engine_manager")


class EngineRegistry:
    """The JSON file listing managed engines; every change is a locked read-modify-write."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, EngineInfo]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        out: dict[str, EngineInfo] = {}
        for key, value in raw.get("engines", {}).items():
            try:
                out[key] = EngineInfo.model_validate(value)
            except ValueError:
                log.warning("ignoring a malformed registry entry %s", key)
        return out

    def _write(self, engines: dict[str, EngineInfo]) -> None:
        tmp = self.path.with_suffix(".tmp")
        data = {"engines": {k: v.model_dump(mode="json") for k, v in engines.items()}}
        # Owner-only: it holds the API keys of external engines.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=2))
        os.replace(tmp, self.path)

    def load(self) -> dict[str, EngineInfo]:
        with self._locked():
            return self._read()

    def update(self, change: Callable[[dict[str, EngineInfo]], Any]) -> Any:
        with self._locked():
            engines = self._read()
            result = change(engines)
            self._write(engines)
            return result


class NullRegistry(EngineRegistry):
    """No file: for throw-away managers (``persist=False``)."""

    def __init__(self) -> None:
        self._engines: dict[str, EngineInfo] = {}
        self._lock = threading.Lock()

    def load(self) -> dict[str, EngineInfo]:
        with self._lock:
            return {k: v.model_copy() for k, v in self._engines.items()}

    def update(self, change: Callable[[dict[str, EngineInfo]], Any]) -> Any:
        with self._lock:
            return change(self._engines)


def next_engine_id(engines: dict[str, EngineInfo], spec: EngineSpec) -> str:
    """``<prefix>-<n>``, the first free: ``fake``, ``external`` or the engine's kind."""
    prefix = spec.backend if spec.backend in ("fake", "external") else spec.kind
    n = 0
    while f"{prefix}-{n}" in engines:
        n += 1
    return f"{prefix}-{n}"
