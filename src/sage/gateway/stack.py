"""Engines + gateway in one object: what ``sage llm serve``, the demo, benchmarks and
tests use to get a working OpenAI endpoint.

``ServingStack`` starts the requested engines through the engine manager (embedded
default models when none is named), registers them and any external engines with a
:class:`ControlPlane`, and runs the gateway in a thread (``mode="thread"``) or in its
own process (``mode="process"``, for honest benchmarks). ``serve_stack`` is the
context-manager form that yields the base URL.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx

from sage.common.config import GatewaySettings
from sage.common.logging import get_logger
from sage.common.ports import DEFAULT_HOST, ephemeral_port
from sage.gateway.specs import EngineSpec
from sage.llm.control_plane.dispatcher import ControlPlane

log = get_logger("sage.gateway.stack")


def discover_models(url: str, timeout: float = 5.0) -> list[str]:
    """The model ids an OpenAI-compatible engine reports, or ``[]``."""
    from sage.llm.control_plane.engines import normalize_url

    try:
        response = httpx.get(normalize_url(url) + "/v1/models", timeout=timeout)
        if response.status_code == 200:
            return [str(m["id"]) for m in response.json().get("data", []) if "id" in m]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        pass
    return []


def register_spec(control_plane: ControlPlane, spec: EngineSpec) -> None:
    models = spec.models or discover_models(spec.url)
    control_plane.add_engine(
        spec.url,
        kind=spec.kind,
        models=models,
        engine_id=spec.id,
        capacity=spec.capacity,
        max_batch=spec.max_batch,
    )


def engine_manager_hook(manager: Any) -> Any:
    """The engine manager's restart entry point, wrapped as ``on_engine_down``."""
    for name in ("restart", "restart_engine"):
        method = getattr(manager, name, None)
        if callable(method):

            def hook(engine_id: str, _method: Any = method) -> None:
                import threading

                # Restarting blocks (process start + model load): keep it off the loop.
                threading.Thread(
                    target=_method, args=(engine_id,), daemon=True, name=f"restart-{engine_id}"
                ).start()

            return hook
    return None


class ServingStack:
    """Start engines and the gateway together; ``url`` is the gateway's base URL."""

    def __init__(
        self,
        *,
        llm_model: str | None = None,
        embedding_model: str | None = None,
        engine_urls: Sequence[str | EngineSpec] = (),
        engines: Sequence[Any] = (),
        engine_manager: Any = None,
        policy: str | None = None,
        policy_options: dict[str, Any] | None = None,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        settings: GatewaySettings | None = None,
        mode: str = "thread",
        log_level: str = "warning",
    ) -> None:
        if mode not in ("thread", "process"):
            raise ValueError("mode must be 'thread' or 'process'")
        self.settings = settings or GatewaySettings()
        self.llm_model = llm_model
        self.embedding_model = embedding_model
        self.specs = [s if isinstance(s, EngineSpec) else EngineSpec.parse(s) for s in engine_urls]
        self.engine_infos = list(engines)
        self.manager = engine_manager
        self._own_manager = False
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
        if self.llm_model is None and self.embedding_model is None:
            return
        if self.manager is None:
            try:
                from sage.llm.engine_manager import EngineManager
            except ImportError as exc:
                from sage.common.errors import ConfigError

                raise ConfigError(
                    f"local engines need sage.llm.engine_manager ({exc}); "
                    "pass running engines with --engine-url instead"
                ) from exc
            self.manager = EngineManager()
            self._own_manager = True
        for kind, model in (("llm", self.llm_model), ("embedding", self.embedding_model)):
            if model is None:
                continue
            self.engine_infos.append(start_managed_engine(self.manager, kind, model))

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> str:
        from sage.gateway.app import check_exposure

        check_exposure(self.settings, self.host)
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
            policy_options=self.policy_options,
            on_engine_down=engine_manager_hook(self.manager) if self.manager else None,
        )
        for info in self.engine_infos:
            cp.add_engine_info(info)
        for spec in self.specs:
            register_spec(cp, spec)
        return cp

    def _start_thread(self) -> None:
        from sage.gateway.app import create_app
        from sage.gateway.server import GatewayThread

        self.control_plane = self._build_control_plane()
        app = create_app(self.control_plane, self.settings)
        self._thread = GatewayThread(app, self.host, self.port, self.log_level).start()

    def _start_process(self) -> None:
        if self.settings.api_keys:
            raise ValueError("process mode passes no API keys; use thread mode or settings")
        specs = list(self.specs) + [
            EngineSpec(
                str(i.url),
                kind=_kind_of(i),
                models=_models_of(i),
                capacity=int(getattr(i, "capacity", 1) or 1),
                max_batch=int(getattr(i, "max_batch", 64) or 64),
                id=str(getattr(i, "id", "")) or None,
            )
            for i in self.engine_infos
        ]
        cmd = [
            sys.executable,
            "-m",
            "sage.cli.main",
            "llm",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--policy",
            self.policy,
            "--no-engines",
        ]
        for spec in specs:
            cmd += ["--engine-url", spec.to_arg()]
        self._process = subprocess.Popen(cmd)
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
        if self._own_manager and self.manager is not None:
            stop_manager(self.manager)
            self.manager = None
            self._own_manager = False

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


def _kind_of(info: Any) -> str:
    kind = getattr(info, "kind", "llm")
    return str(getattr(kind, "value", kind))


def _models_of(info: Any) -> list[str]:
    model = getattr(info, "model", None)
    return [str(model)] if model else []


def start_managed_engine(manager: Any, kind: str, model: str) -> Any:
    """Ask the engine manager for an engine of ``kind`` serving ``model`` ("default" ok).

    Returns its ``EngineInfo`` (``id, kind, model, url, capacity, max_batch, healthy``).
    """
    from sage.common.errors import ConfigError

    model_arg = None if model in ("", "default") else model
    for name in ("start_engine", "start", "launch"):
        method = getattr(manager, name, None)
        if callable(method):
            return method(kind=kind, model=model_arg)
    raise ConfigError(
        f"the engine manager ({type(manager).__name__}) cannot start engines; "
        "pass running engines with --engine-url"
    )


def stop_manager(manager: Any) -> None:
    for name in ("stop_all", "shutdown", "close", "stop"):
        method = getattr(manager, name, None)
        if callable(method):
            method()
            return
