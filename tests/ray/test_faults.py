"""A task actor that dies mid-job fails the job visibly; with restarts it is replayed."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from sage.common.errors import JobFailedError
from sage.kernel import MapFunction
from tests.fixtures.kernel import EnvFactory

pytestmark = pytest.mark.ray


class DieOnce(MapFunction):
    """Kills its own actor process at record ``at`` the first time (marker file).

    It lingers first so Ray has settled the job's references before the restart: an
    actor whose constructor args were freed by then cannot restart (ray#53727)."""

    def __init__(self, marker: str, at: int, linger_s: float = 2.0) -> None:
        self.marker = marker
        self.at = at
        self.linger_s = linger_s

    def execute(self, data: int) -> int:
        if data == self.at and not Path(self.marker).exists():
            Path(self.marker).write_text("died")
            time.sleep(self.linger_s)
            os._exit(1)  # the actor process dies like a crashed/OOM-killed worker
        return data * 2


class Boom(MapFunction):
    def execute(self, data: int) -> int:
        if data == 7:
            raise ValueError("bad record 7")
        return data


@pytest.fixture
def ray_env(ray_cluster: Any, tmp_path: Path) -> EnvFactory:
    return EnvFactory("ray", tmp_path)


def _pipeline(env: Any, factory: EnvFactory, marker: Path, n: int) -> Any:
    src = env.from_batch(list(range(n)))
    return factory.collect(src.map(DieOnce, str(marker), n // 2, name="fragile"))


def test_killed_actor_fails_the_job(ray_env: EnvFactory, tmp_path: Path) -> None:
    env = ray_env("killed", config={"batch_size": 16, "chaining": False})
    _pipeline(env, ray_env, tmp_path / "marker", 400)
    with pytest.raises(JobFailedError, match=r"fragile\[0\].*died"):
        env.submit()
    assert env.metrics().status == "failed"


def test_killed_actor_restarts_and_the_job_completes(ray_env: EnvFactory,
                                                     tmp_path: Path) -> None:
    env = ray_env("restarted", config={"batch_size": 16, "chaining": False,
                                       "max_restarts": 2})
    out = _pipeline(env, ray_env, tmp_path / "marker", 400)
    env.submit()
    assert (tmp_path / "marker").exists()  # it really died once
    items = out.items
    assert set(items) == {2 * x for x in range(400)}  # nothing lost (at-least-once)


def test_operator_error_carries_the_traceback(ray_env: EnvFactory) -> None:
    env = ray_env("boom", config={"batch_size": 4})
    env.from_batch(list(range(20)), parallelism=2).map(Boom, parallelism=2, name="boom") \
        .sink(lambda x: None)
    with pytest.raises(JobFailedError) as info:
        env.submit()
    assert info.value.operator == "boom"
    assert "ValueError: bad record 7" in str(info.value)
    assert "in execute" in info.value.traceback_text
