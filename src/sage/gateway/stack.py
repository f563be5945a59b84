"""Engines + gateway in one object: what ``sage llm serve``, the demo, benchmarks and
tests use to get a working OpenAI endpoint.

``ServingStack`` starts the requested engines through the engine manager (embedded
default models when none is named), registers them and any external engines with a
:class:`ControlPlane`, and runs the gateway in a thread (``mode="thread"``) or in its
own process (``mode="process"``, for honest benchmarks). ``serve_stack`` is the
context-manager form that yields the base URL.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx

from sage.common.config import GatewaySettings
from sage.common.errors import ConfigError, EngineError
from sage.common.logging import get_logger
from sage.common.ports import DEFAULT_HOST, ephemeral_port, is_port_free
from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.engine_manager import EngineManager
from sage.llm.engines.external import engine_url_arg, parse_engine_url, with_served_models
from sage.llm.engines.spec import DEFAULT_BACKEND, EngineInfo, EngineSpec

log = get_logger("sage.gateway.stack")


def restart_hook(manager: EngineManager) -> Callable[[str], None]:
    """The control plane's ``on_engine_down``: restart the engine in the background
    (process start and model load block, so never on the gateway's loop)."""

    def restart(engine_id: str) -> None:
        try:
            manager.restart(engine_id)
        except KeyError:
            log.debug("engine %s is not the manager's (external): not restarted", engine_id)
        except EngineError as exc:
            log.error("could not restart engine %s: %s", engine_id, exc)

    def hook(engine_id: str) -> None:
        threading.Thread(
            target=restart, args=(engine_id,), daemon=True, name=f"restart-{engine_id}"
        ).start()

    return hook


def as_external(info: EngineInfo) -> EngineSpec:
    """A running engine as the gateway process sees it: just a URL and what it serves."""
    return info.spec.model_copy(update={"backend": "external", "url": info.url})


class ServingStack:
    """Start engines and the gateway together; ``url`` is the gateway's base URL.

    ``engines`` are engines the caller already runs (``engine_manager`` restarts them
    when they die); ``start_engines`` are specs of engines to start (and stop again),
    ``llm_model``/``embedding_model`` the short form for the built-in backends
    ("default": the embedded models); ``engine_urls`` are external engines
    (``--engine-url`` text or :class:`EngineSpec` with ``backend="external"``).
    """

    def __init__(
        self,
        *,
        llm_model: str | None = None,
        embedding_model: str | None = None,
        engine_urls: Sequence[str | EngineSpec] = (),
        engines: Sequence[EngineInfo] = (),
        start_engines: Sequence[EngineSpec] = (),
        engine_manager: EngineManager | None = None,
        policy: str | None = None,
        policy_options: dict[str, Any] | None = None,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        settings: GatewaySettings | None = None,
        mode: str = "thread",
        log_level: str = "warning",
    ) -> None:
        if mode not in ("thread", "process"):
            raise ConfigError("mode must be 'thread' or 'process'")
        self.settings = settings or GatewaySettings()
        self._settings_given = settings is not None
        models = {"llm": llm_model, "embedding": embedding_model}
        self.to_start = list(start_engines) + [
            EngineSpec(kind=kind, backend=DEFAULT_BACKEND[kind], model="" if m == "default" else m)
            for kind, m in models.items()
            if m is not None
        ]
        self.specs = [s if isinstance(s, EngineSpec) else parse_engine_url(s) for s in engine_urls]
        self.engine_infos = list(engines)
        self.manager = engine_manager
        self._started: list[str] = []  # engine ids this stack started (and stops)
        self._own_manager: EngineManager | None = None
        self.policy = policy or self.settings.policy
        self.policy_options = policy_options or {}
        self.host = host
        self.port = port or ephemeral_port(host)
        self.mode = mode
        self.log_level = log_level
        self.control_plane: ControlPlane | None = None
        self._thread: Any = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- engines -------------------------------------------------------------------
    def _start_engines(self) -> None:
        if not self.to_start:
            return
        if self.manager is None:
            self.manager = self._own_manager = EngineManager()
        for spec in self.to_start:  # launched together, then awaited: model loading overlaps
            self._started.append(self.manager.start(spec, wait=False).id)
        for engine_id in self._started:
            self.engine_infos.append(self.manager.wait_healthy(engine_id))
        if self._own_manager is not None:
            # Also restarts engines that die while idle (a caller's manager is left alone).
            self._own_manager.start_monitor()

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> str:
        from sage.gateway.app import check_exposure

        check_exposure(self.settings, self.host)
        if not is_port_free(self.port, self.host):  # before any model loads
            raise ConfigError(f"port {self.port} on {self.host} is already in use")
        try:
            self._start_engines()
            if self.mode == "thread":
                self._start_thread()
            else:
                self._start_process()
        except BaseException:
            self.stop()
            raise
        log.info("gateway ready at %s (policy %s)", self.url, self.policy)
        return self.url

    def _build_control_plane(self) -> ControlPlane:
        cp = ControlPlane(
            self.policy,
            max_queue=self.settings.max_queue,
            max_queue_wait_s=self.settings.max_queue_wait_s,
            engine_down_grace_s=self.settings.engine_down_grace_s,
            policy_options=self.policy_options,
            on_engine_down=restart_hook(self.manager) if self.manager else None,
        )
        for info in self.engine_infos:
            cp.add_engine_info(info)
        for spec in self.specs:
            cp.add_engine_spec(with_served_models(spec))
        return cp

    def _start_thread(self) -> None:
        from sage.gateway.app import create_app
        from sage.gateway.server import GatewayThread

        self.control_plane = self._build_control_plane()
        app = create_app(self.control_plane, self.settings)
        self._thread = GatewayThread(app, self.host, self.port, self.log_level).start()

    def _start_process(self) -> None:
        """``sage llm serve --no-engines`` in a child; engine keys travel in its
        environment, never on its command line."""
        if self.settings.api_keys:
            raise ConfigError("process mode passes no gateway API keys; use thread mode")
        specs = self.specs + [as_external(i) for i in self.engine_infos]
        cmd = [sys.executable, "-m", "sage.cli.main", "llm", "serve", "--no-engines"]
        cmd += ["--host", self.host, "--port", str(self.port), "--policy", self.policy]
        env = dict(os.environ)
        if self._settings_given:  # the child reads settings from its environment
            env["SAGE_GATEWAY__MAX_QUEUE"] = str(self.settings.max_queue)
            env["SAGE_GATEWAY__ENGINE_DOWN_GRACE_S"] = str(self.settings.engine_down_grace_s)
            env["SAGE_GATEWAY__MAX_BODY_BYTES"] = str(self.settings.max_body_bytes)
            if self.settings.max_queue_wait_s is not None:
                env["SAGE_GATEWAY__MAX_QUEUE_WAIT_S"] = str(self.settings.max_queue_wait_s)
        for i, spec in enumerate(specs):
            key_env = None
            if spec.api_key:
                key_env = f"SAGE_ENGINE_KEY_{i}"
                env[key_env] = spec.api_key
            cmd += ["--engine-url", engine_url_arg(spec, key_env)]
        self._process = subprocess.Popen(cmd, env=env)
        wait_for_gateway(self.url, self._process)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(15)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._own_manager is not None:
            self._own_manager.stop_monitor()
        if self.manager is not None:
            for engine_id in self._started:
                with contextlib.suppress(KeyError):
                    self.manager.stop(engine_id)
        self._started = []

    def __enter__(self) -> ServingStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def serve_stack(**kwargs: Any) -> Iterator[str]:
    """``with serve_stack(policy="hybrid") as url:`` -- see :class:`ServingStack`."""
    with ServingStack(**kwargs) as stack:
        yield stack.url


def wait_for_gateway(
    url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 60.0
) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the gateway process exited with code {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"the gateway at {url} did not come up within {timeout:.0f}s")
