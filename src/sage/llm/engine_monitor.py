"""A thread that checks engine health every few seconds and restarts dead engines."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sage.common.logging import get_logger

log = get_logger("sage.llm.engine_manager")


class EngineMonitor:
    """Calls ``watch_once`` every ``interval_s`` in a daemon thread until stopped."""

    def __init__(self, watch_once: Callable[[], object], interval_s: float = 2.0) -> None:
        self.watch_once = watch_once
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="engine-monitor")
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.watch_once()
            except Exception:  # keep watching whatever one round hit
                log.exception("engine health check failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._thread = None
