"""Placement honours declared resources on the session's local Ray (2 CPUs, custom
``cpu_node: 2`` and a fake ``gpu_node: 1``); impossible demands fail at submit; spread,
pack and opted-in user policies reserve a job as one placement group, released after."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from sage.common.errors import JobFailedError, ResourceUnavailableError
from sage.kernel import BaseService, MapFunction, RemoteEnvironment, SourceFunction
from sage.kernel.runtime.ray.placement import (
    NODE_PIN,
    UNDECLARED_ACTOR_CPU,
    bundle_demand,
    placement_bundles,
    reservation_name,
)
from sage.kernel.scheduler import NodeInfo, Placement, PlacementPolicy, TaskDemand
from tests.fixtures.kernel import EnvFactory

pytestmark = pytest.mark.ray


class WhereAmI(MapFunction):
    """Tags each record with the node, the resources Ray assigned to this actor, its
    task name and its placement group (``None`` outside one)."""

    def execute(self, data: Any) -> tuple[Any, str, dict[str, float], str, str | None]:
        import ray

        ctx = ray.get_runtime_context()
        return (data, ctx.get_node_id(), dict(ctx.get_assigned_resources()),
                self.ctx.task_name, ctx.get_placement_group_id())


class Echo(BaseService):
    def process(self, x: Any) -> Any:
        return x


def wait_until(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll ``condition`` until it is truthy (Ray applies removals asynchronously)."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)
    return result


def reservation_of(ray: Any, job_id: str) -> dict[str, Any] | None:
    """The job's placement group as Ray's table records it (removed ones stay listed)."""
    return next((g for g in ray.util.placement_group_table().values()
                 if g["name"] == reservation_name(job_id)), None)


def job_actors(ray: Any, job_id: str) -> list[str]:
    return [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a["name"].startswith(f"sage/{job_id}/")]


def assert_released(ray: Any, job_id: str) -> None:
    """The job left no actor and no live placement group, and the cluster has its
    custom resources back."""
    group = reservation_of(ray, job_id)
    assert group is None or group["state"] == "REMOVED"
    assert not [g for g in ray.util.placement_group_table().values()
                if g["name"].startswith("sage/") and g["state"] != "REMOVED"]
    wait_until(lambda: not job_actors(ray, job_id))
    wait_until(lambda: ray.available_resources().get("cpu_node") == 2.0
               and ray.available_resources().get("gpu_node") == 1.0)


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
    env = RemoteEnvironment(f"policy-{policy}", scheduler=policy)
    out = ray_env.collect(env.from_batch([1, 2, 3]).map(WhereAmI, resources={"cpu_node": 1}))
    env.submit()
    assert sorted(r[0] for r in out.items) == [1, 2, 3]
    assert all(r[2].get("cpu_node") == 1.0 for r in out.items)
    if policy == "load_aware":  # no reservation: placed actor by actor
        assert {r[4] for r in out.items} == {None}
    assert_released(ray_cluster, env._runtime.job_id)  # type: ignore[union-attr]


@pytest.mark.parametrize("policy", ["spread", "pack"])
def test_spread_and_pack_reserve_the_whole_job_as_one_placement_group(
        ray_env: EnvFactory, policy: str, ray_cluster: Any) -> None:
    """One bundle per task and service actor with its resources (a CPU sliver for those
    that declare nothing), pinned to the node the policy chose; released at the end."""
    env = RemoteEnvironment(f"reserve-{policy}", scheduler=policy)
    env.register_service("echo", Echo, resources={"gpu_node": 1})
    out = ray_env.collect(env.from_batch(list(range(8)))
                          .map(WhereAmI, parallelism=2, resources={"cpu_node": 1}))
    env.submit()
    job_id = env._runtime.job_id  # type: ignore[union-attr]
    group = reservation_of(ray_cluster, job_id)
    assert group is not None and group["strategy"] == policy.upper()
    assert {r[4] for r in out.items} == {group["placement_group_id"]}
    assert sorted(r[0] for r in out.items) == list(range(8))
    assert len({r[3] for r in out.items}) == 2  # both map tasks ran in the group
    (node,) = ray_cluster.nodes()
    pin = f"node:{node['NodeManagerAddress']}"
    bundles = list(group["bundles"].values())
    assert all(b.pop(pin) == NODE_PIN for b in bundles)  # every bundle on the chosen node
    assert set(group["bundles_to_node_id"].values()) == {node["NodeID"]}
    declared = [b for b in bundles if b != {"CPU": UNDECLARED_ACTOR_CPU}]
    assert sorted(declared, key=str) == [{"cpu_node": 1.0}, {"cpu_node": 1.0},
                                         {"gpu_node": 1.0}]
    assert len(bundles) - len(declared) >= 2  # the source and the sink declare nothing
    assert_released(ray_cluster, job_id)


class Ticks(SourceFunction):
    """An endless, slow source (the job ends only by ``stop()``)."""

    def execute(self) -> int:
        time.sleep(0.01)
        return 1


class Boom(MapFunction):
    def execute(self, data: Any) -> Any:
        raise ValueError("boom")


@pytest.mark.parametrize("ending", ["failure", "stop"])
def test_the_reservation_is_released_however_the_job_ends(ending: str,
                                                          ray_cluster: Any) -> None:
    env = RemoteEnvironment(f"release-on-{ending}", scheduler="pack")
    if ending == "failure":
        env.from_batch([1]).map(Boom, resources={"cpu_node": 1}).sink(lambda x: None)
        with pytest.raises(JobFailedError, match="boom"):
            env.submit()
    else:
        env.from_source(Ticks).map(lambda x: x, resources={"cpu_node": 1}) \
            .sink(lambda x: None)
        env.submit(autostop=False)
        job_id = env._runtime.job_id  # type: ignore[union-attr]
        assert reservation_of(ray_cluster, job_id)["state"] == "CREATED"  # type: ignore[index]
        env.stop()
        assert env.wait(60)
        assert env.metrics().status == "stopped"
    assert_released(ray_cluster, env._runtime.job_id)  # type: ignore[union-attr]


class FirstNode(PlacementPolicy):
    """A user policy: every actor on the first node by id."""

    name = "first_node"

    def place(self, demands: Any, nodes: Any) -> list[Placement]:
        first = min(n.node_id for n in nodes if n.alive)
        return [Placement(d.name, first) for d in demands]


@pytest.mark.parametrize("reservation", [None, "STRICT_PACK"])
def test_user_policy_class_places_with_or_without_a_reservation(
        ray_env: EnvFactory, reservation: str | None, ray_cluster: Any) -> None:
    policy = FirstNode()
    policy.reservation = reservation
    env = RemoteEnvironment(f"user-policy-{reservation}", scheduler=policy)
    out = ray_env.collect(env.from_batch([1, 2]).map(WhereAmI, resources={"cpu_node": 1}))
    env.submit()
    job_id = env._runtime.job_id  # type: ignore[union-attr]
    assert sorted(r[0] for r in out.items) == [1, 2]
    assert {r[1] for r in out.items} == {min(n["NodeID"] for n in ray_cluster.nodes())}
    group = reservation_of(ray_cluster, job_id)
    if reservation is None:
        assert group is None and {r[4] for r in out.items} == {None}
    else:
        assert group is not None and group["strategy"] == reservation
        assert {r[4] for r in out.items} == {group["placement_group_id"]}
    assert_released(ray_cluster, job_id)


def test_bundles_pin_each_actor_to_the_node_its_policy_chose() -> None:
    """Pure: bundle shapes from fake nodes (two nodes, one task left to Ray)."""
    nodes = [NodeInfo("n1", {"CPU": 4}, address="10.0.0.1"),
             NodeInfo("n2", {"CPU": 4, "GPU": 1}, address="10.0.0.2")]
    demands = [bundle_demand(TaskDemand("src[0]")),
               bundle_demand(TaskDemand("embed[0]", {"GPU": 1.0})),
               bundle_demand(TaskDemand("sink[0]", {"CPU": 1.0}))]
    placements = {"src[0]": Placement("src[0]", "n1"),
                  "embed[0]": Placement("embed[0]", "n2"),
                  "sink[0]": Placement("sink[0]")}
    assert placement_bundles(demands, placements, nodes) == [
        {"CPU": UNDECLARED_ACTOR_CPU, "node:10.0.0.1": NODE_PIN},
        {"GPU": 1.0, "node:10.0.0.2": NODE_PIN},
        {"CPU": 1.0},
    ]


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


def test_a_job_the_cluster_can_never_hold_fails_before_reserving(ray_cluster: Any) -> None:
    """cpu_node=3 on a cluster with 2: refused at once, no placement group, no actor."""
    env = RemoteEnvironment("never-fits", scheduler="pack",
                            config={"placement_timeout_s": 60})
    env.from_batch([1]).map(lambda x: x, parallelism=3, resources={"cpu_node": 1}) \
        .sink(lambda x: None)
    with pytest.raises(ResourceUnavailableError, match="cpu_node=3 in total"):
        env.submit()
    job_id = env._runtime.job_id  # type: ignore[union-attr]
    assert reservation_of(ray_cluster, job_id) is None
    assert env.metrics().status == "failed"
    assert_released(ray_cluster, job_id)


def test_a_reservation_that_cannot_be_met_starts_nothing(ray_cluster: Any) -> None:
    """Another actor holds one of the 2 cpu_node: the job's group (2 x cpu_node) waits
    without taking the free one or starting any actor, then fails after the timeout and
    is removed."""

    @ray_cluster.remote(num_cpus=0, resources={"cpu_node": 1})
    class Holder:
        def ping(self) -> int:
            return 1

    holder = Holder.remote()  # type: ignore[attr-defined]
    ray_cluster.get(holder.ping.remote())
    env = RemoteEnvironment("busy-reservation", scheduler="pack",
                            config={"placement_timeout_s": 5})
    env.from_batch([1]).map(lambda x: x, parallelism=2, resources={"cpu_node": 1}) \
        .sink(lambda x: None)
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            env.submit()
        except BaseException as exc:  # noqa: BLE001 - checked below
            errors.append(exc)

    submitter = threading.Thread(target=submit)
    submitter.start()
    try:
        job_id = wait_until(lambda: env._runtime is not None and env._runtime.job_id)
        wait_until(lambda: (reservation_of(ray_cluster, job_id) or {}).get("state")
                   == "PENDING")
        assert ray_cluster.available_resources().get("cpu_node") == 1.0
        assert job_actors(ray_cluster, job_id) == []
        submitter.join(60)
        assert len(errors) == 1 and isinstance(errors[0], ResourceUnavailableError)
        assert "could not reserve its 4 actors as one PACK placement group within 5s" \
            in str(errors[0])
        assert "cpu_node=2" in str(errors[0]) and "nothing was started" in str(errors[0])
        assert env.metrics().status == "failed"
        assert reservation_of(ray_cluster, job_id)["state"] == "REMOVED"  # type: ignore[index]
        assert job_actors(ray_cluster, job_id) == []
    finally:
        submitter.join(60)
        ray_cluster.kill(holder)
    assert_released(ray_cluster, job_id)


def test_service_resources_place_the_service_actor(ray_env: EnvFactory) -> None:
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
