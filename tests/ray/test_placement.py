"""Placement honours declared resources on the session's local Ray (2 CPUs, custom
``cpu_node: 2`` and a fake ``gpu_node: 1``); impossible demands fail at submit."""

from __future__ import annotations

from typing import Any

import pytest

from sage.common.errors import ResourceUnavailableError
from sage.kernel import MapFunction
from tests.kernel.conftest import EnvFactory

pytestmark = pytest.mark.ray


class WhereAmI(MapFunction):
    """Tags each record with the node and the resources Ray assigned to this actor."""

    def execute(self, data: Any) -> tuple[Any, str, dict[str, float], str]:
        import ray

        ctx = ray.get_runtime_context()
        return (data, ctx.get_node_id(), dict(ctx.get_assigned_resources()),
                self.ctx.task_name)


@pytest.fixture
def ray_env(ray_cluster: Any, tmp_path: Any) -> EnvFactory:
    return EnvFactory("ray", tmp_path)


def test_custom_resources_are_assigned_to_the_actor(ray_env: EnvFactory,
                                                   ray_cluster: Any) -> None:
    env = ray_env("placement")
    src = env.from_batch(list(range(6)))
    gpu = ray_env.collect(src.map(WhereAmI, resources={"gpu_node": 1}, name="on_gpu"))
    cpu = ray_env.collect(src.map(WhereAmI, parallelism=2, resources={"cpu_node": 1},
                                  name="on_cpu"))
    env.submit()
    node = ray_cluster.get_runtime_context().get_node_id()
    assert sorted(r[0] for r in gpu.items) == list(range(6))
    assert {r[1] for r in gpu.items} == {node}
    assert all(r[2].get("gpu_node") == 1.0 for r in gpu.items)
    assert all(r[2].get("cpu_node") == 1.0 for r in cpu.items)
    assert {r[3] for r in cpu.items} == {"on_cpu[0]", "on_cpu[1]"}


@pytest.mark.parametrize("policy", ["spread", "pack", "load_aware"])
def test_policies_place_on_a_node_that_fits(ray_env: EnvFactory, policy: str,
                                            ray_cluster: Any) -> None:
    from sage.kernel import RemoteEnvironment

    env = RemoteEnvironment(f"policy-{policy}", scheduler=policy)
    out = ray_env.collect(env.from_batch([1, 2, 3]).map(WhereAmI, resources={"cpu_node": 1}))
    env.submit()
    assert sorted(r[0] for r in out.items) == [1, 2, 3]
    assert all(r[2].get("cpu_node") == 1.0 for r in out.items)


def test_gpu_pipeline_fails_at_submit_with_a_clear_message(ray_env: EnvFactory) -> None:
    env = ray_env("needs-gpu")
    env.from_batch([1]).map(lambda x: x, resources={"num_gpus": 1}, name="embedder") \
        .sink(lambda x: None)
    with pytest.raises(ResourceUnavailableError, match=r"embedder\[0\] needs .*GPU=1"):
        env.submit()
    assert not env._runtime.running  # type: ignore[union-attr]


def test_oversubscribed_custom_resource_fails_at_submit(ray_env: EnvFactory) -> None:
    env = ray_env("too-many")
    env.from_batch([1]).map(lambda x: x, parallelism=2, resources={"gpu_node": 1}) \
        .sink(lambda x: None)
    with pytest.raises(ResourceUnavailableError, match="gpu_node=2 in total"):
        env.submit()


def test_service_resources_place_the_service_actor(ray_env: EnvFactory) -> None:
    from sage.kernel import BaseService

    class Where(BaseService):
        def process(self, x: int) -> tuple[int, dict[str, float]]:
            import ray

            return x, dict(ray.get_runtime_context().get_assigned_resources())

    class Ask(MapFunction):
        def execute(self, x: int) -> Any:
            return self.call_service("where", x)

    env = ray_env("svc-res")
    env.register_service("where", Where, resources={"gpu_node": 1})
    out = ray_env.collect(env.from_batch([5]).map(Ask))
    env.submit()
    assert out.items == [(5, {"gpu_node": 1.0})]


def test_busy_resources_fail_after_the_placement_timeout(ray_cluster: Any) -> None:
    """Resources that exist but are held elsewhere: a clear error, not an endless wait
    (for tasks and for services alike)."""
    from sage.kernel import BaseService, RemoteEnvironment

    @ray_cluster.remote(num_cpus=0, resources={"gpu_node": 1})
    class Holder:
        def ping(self) -> int:
            return 1

    class Model(BaseService):
        def process(self, x: int) -> int:
            return x

    holder = Holder.remote()  # type: ignore[attr-defined]
    ray_cluster.get(holder.ping.remote())
    try:
        env = RemoteEnvironment("busy-task", config={"placement_timeout_s": 2})
        env.from_batch([1]).map(lambda x: x, resources={"gpu_node": 1}).sink(lambda x: None)
        with pytest.raises(ResourceUnavailableError, match="task could be placed within 2s"):
            env.submit()
        assert env.metrics().status == "failed"
        env = RemoteEnvironment("busy-service", config={"placement_timeout_s": 2})
        env.register_service("model", Model, resources={"gpu_node": 1})
        env.from_batch([1]).sink(lambda x: None)
        with pytest.raises(ResourceUnavailableError, match="service could be placed"):
            env.submit()
    finally:
        ray_cluster.kill(holder)
