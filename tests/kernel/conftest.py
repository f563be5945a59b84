"""Kernel test fixtures: ``make_env`` (an :class:`~tests.fixtures.kernel.EnvFactory`)
builds environments for each runtime under test. Tests taking ``make_env`` run once per
runtime in ``RUNTIMES`` (local and Ray; Ray through the session's ``ray_cluster``
fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.kernel import RUNTIMES, EnvFactory

# Tests whose expectation differs on Ray by design (covered in tests/ray).
_RAY_DIFFERENT = {
    "test_resources_are_recorded_in_the_plan":
        "asks for num_gpus=1: on a GPU-less Ray cluster that fails at submit "
        "(tests/ray/test_placement.py checks the error)",
}


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
