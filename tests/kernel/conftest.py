"""Kernel test fixtures: ``make_env`` builds environments for each runtime under test.

``make_env(name, config=None)`` returns a fresh environment; ``make_env.collect(stream)``
attaches a sink that works across processes (each task pickles what it saw into a file
under a temp dir) and returns a :class:`Results` whose ``items`` are readable after
``submit``. Tests taking ``make_env`` run once per runtime in ``RUNTIMES`` (local and
Ray; Ray through the session's ``ray_cluster`` fixture).
"""

from __future__ import annotations

import os
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sage.kernel import BaseEnvironment, LocalEnvironment, SinkFunction

# Runtimes the parametrised tests run on (SAGE_KERNEL_RUNTIMES=local to skip Ray). The
# hypothesis property tests choose their runtime themselves (fewer examples on Ray, where
# each example is a whole job of actor processes): see test_properties.py.
RUNTIMES = [r for r in os.environ.get("SAGE_KERNEL_RUNTIMES", "local,ray").split(",") if r]
# Tests whose expectation differs on Ray by design (covered in tests/ray).
_RAY_DIFFERENT = {
    "test_resources_are_recorded_in_the_plan":
        "asks for num_gpus=1: on a GPU-less Ray cluster that fails at submit "
        "(tests/ray/test_placement.py checks the error)",
}


class FileCollectSink(SinkFunction):
    """Records seen by one task, pickled to ``<dir>/<tag>-<task>.pkl`` at close."""

    def __init__(self, directory: str, tag: str) -> None:
        self.directory = directory
        self.tag = tag

    def open(self) -> None:
        self.items: list[Any] = []

    def execute(self, data: Any) -> None:
        self.items.append(data)

    def close(self) -> None:
        path = Path(self.directory) / f"{self.tag}-{self.ctx.index}.pkl"
        path.write_bytes(pickle.dumps(self.items))


class Results:
    """What a collected stream produced, in per-task order."""

    def __init__(self, directory: Path, tag: str) -> None:
        self.directory = directory
        self.tag = tag

    @property
    def per_task(self) -> list[list[Any]]:
        files = sorted(self.directory.glob(f"{self.tag}-*.pkl"))
        return [pickle.loads(f.read_bytes()) for f in files]

    @property
    def items(self) -> list[Any]:
        return [x for part in self.per_task for x in part]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)


class EnvFactory:
    """Callable factory of environments for one runtime, plus a cross-process collector."""

    def __init__(self, runtime: str, tmp: Path) -> None:
        self.runtime = runtime
        self.tmp = tmp
        self.envs: list[BaseEnvironment] = []

    def __call__(self, name: str = "test", config: dict[str, Any] | None = None
                 ) -> BaseEnvironment:
        if self.runtime == "local":
            env: BaseEnvironment = LocalEnvironment(name, config=config)
        else:
            from sage.kernel import RemoteEnvironment

            env = RemoteEnvironment(name, config=config)
        self.envs.append(env)
        return env

    def collect(self, stream: Any, parallelism: int = 1) -> Results:
        tag = uuid.uuid4().hex[:8]
        stream.sink(FileCollectSink, str(self.tmp), tag, parallelism=parallelism,
                    name=f"collect_{tag}")
        return Results(self.tmp, tag)


@pytest.fixture(params=[pytest.param(r, marks=pytest.mark.ray) if r == "ray" else r
                        for r in RUNTIMES])
def runtime_name(request: pytest.FixtureRequest) -> str:
    reason = _RAY_DIFFERENT.get(getattr(request.node, "originalname", ""))
    if request.param == "ray" and reason:
        pytest.skip(reason)
    return str(request.param)


@pytest.fixture
def make_env(runtime_name: str, tmp_path: Path,
             request: pytest.FixtureRequest) -> Iterator[EnvFactory]:
    if runtime_name == "ray":  # one local Ray per session (tests/fixtures/ray_cluster.py)
        request.getfixturevalue("ray_cluster")
    factory = EnvFactory(runtime_name, tmp_path)
    yield factory
    for env in factory.envs:  # never leak a running job
        runtime = env._runtime
        if runtime is not None and runtime.running:
            env._runtime.stop()  # type: ignore[union-attr]
            try:
                runtime.wait(10)
            except Exception:  # noqa: BLE001 - teardown of a test that already failed
                pass
