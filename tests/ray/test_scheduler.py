"""Scheduler policies are pure: checked here with fake node lists (no Ray)."""

from __future__ import annotations

import pytest

from sage.common.errors import ConfigError, ResourceUnavailableError
from sage.kernel.scheduler import (
    NodeInfo,
    Placement,
    PlacementPolicy,
    TaskDemand,
    available_schedulers,
    check_feasible,
    check_placements,
    get_scheduler,
    normalize_resources,
    ray_actor_options,
    register_scheduler,
)


def nodes() -> list[NodeInfo]:
    return [
        NodeInfo("a", {"CPU": 4, "memory": 8e9}, {"CPU": 1, "memory": 8e9}),
        NodeInfo("b", {"CPU": 4, "GPU": 1, "memory": 8e9}, {"CPU": 4, "GPU": 1,
                                                            "memory": 8e9}),
        NodeInfo("c", {"CPU": 2, "cpu_node": 2}, {"CPU": 2, "cpu_node": 2}),
        NodeInfo("dead", {"CPU": 64, "GPU": 8}, {"CPU": 64, "GPU": 8}, alive=False),
    ]


def demands(n: int, **res: float) -> list[TaskDemand]:
    return [TaskDemand(f"op[{i}]", normalize_resources(res)) for i in range(n)]


def test_normalize_and_actor_options_round_trip() -> None:
    norm = normalize_resources({"num_gpus": 1, "num_cpus": 2, "memory": 1e9, "cpu_node": 1,
                                "zero": 0})
    assert norm == {"GPU": 1.0, "CPU": 2.0, "memory": 1e9, "cpu_node": 1.0}
    opts = ray_actor_options(norm)
    assert opts == {"num_gpus": 1.0, "num_cpus": 2.0, "memory": 1_000_000_000,
                    "resources": {"cpu_node": 1.0}}
    assert ray_actor_options({"GPU": 1.0}) == {"num_gpus": 1.0, "num_cpus": 0}
    assert ray_actor_options({}) == {}  # Ray's default: 1 CPU to place, 0 held
    with pytest.raises(ConfigError):
        normalize_resources({"num_gpus": -1})
    with pytest.raises(ConfigError):
        normalize_resources({"num_gpus": "many"})


def test_default_leaves_the_choice_to_ray() -> None:
    out = get_scheduler("default").place(demands(3), nodes())
    assert [p.node_id for p in out] == [None, None, None]


def test_spread_round_robins_over_fitting_alive_nodes() -> None:
    out = get_scheduler("spread").place(demands(6, num_cpus=1), nodes())
    counts = {n: sum(p.node_id == n for p in out) for n in "abc"}
    assert counts == {"a": 2, "b": 2, "c": 2}
    assert all(p.node_id != "dead" for p in out)


def test_spread_respects_resource_constraints() -> None:
    out = get_scheduler("spread").place(demands(2, num_gpus=1), nodes())
    assert {p.node_id for p in out} == {"b"}  # the only alive GPU node


def test_pack_fills_one_node_before_the_next() -> None:
    out = get_scheduler("pack").place(demands(6, num_cpus=1), nodes())
    ids = [p.node_id for p in out]
    assert ids[:4] == [ids[0]] * 4  # a 4-CPU node first
    assert len(set(ids)) == 2


def test_load_aware_prefers_the_idle_node() -> None:
    out = get_scheduler("load_aware").place(demands(1, num_cpus=1), nodes()[:2])
    assert out[0].node_id == "b"  # "a" has 3 of 4 CPUs busy
    # then spreads as it counts its own choices
    out = get_scheduler("load_aware").place(demands(4), nodes()[:2])
    assert sum(p.node_id == "b" for p in out) >= 3


def test_custom_policy_registration() -> None:
    class AlwaysC(PlacementPolicy):
        name = "always_c"

        def place(self, demands, nodes):  # type: ignore[no-untyped-def]
            return [Placement(d.name, "c") for d in demands]

    register_scheduler("always_c", AlwaysC)
    assert "always_c" in available_schedulers()
    assert {p.node_id for p in get_scheduler("always_c").place(demands(2), nodes())} == {"c"}
    assert isinstance(get_scheduler(AlwaysC()), AlwaysC)
    with pytest.raises(ConfigError, match="unknown scheduler"):
        get_scheduler("nope")


def test_feasibility_names_the_missing_resource() -> None:
    check_feasible(demands(1, num_gpus=1), nodes())  # node b has the one alive GPU
    with pytest.raises(ResourceUnavailableError, match="GPU=2 in total"):
        check_feasible(demands(2, num_gpus=1), nodes())  # the dead node's GPUs don't count
    cpu_only = [n for n in nodes() if "GPU" not in n.total]
    with pytest.raises(ResourceUnavailableError, match=r"op\[0\] needs GPU=1.*GPU=1"):
        check_feasible(demands(1, num_gpus=1), cpu_only)
    with pytest.raises(ResourceUnavailableError, match="in total"):
        check_feasible(demands(3, cpu_node=1), nodes())  # only 2 cpu_node in the cluster
    with pytest.raises(ResourceUnavailableError, match="no alive node"):
        check_feasible(demands(1), [nodes()[3]])


def test_spread_and_pack_reserve_the_job_default_and_load_aware_do_not() -> None:
    reservations = {name: get_scheduler(name).reservation
                    for name in ("default", "spread", "pack", "load_aware")}
    assert reservations == {"default": None, "spread": "SPREAD", "pack": "PACK",
                            "load_aware": None}


def test_user_policies_opt_in_to_a_reservation() -> None:
    class OneRack(PlacementPolicy):
        name = "one_rack"
        reservation = "STRICT_PACK"

        def place(self, demands, nodes):  # type: ignore[no-untyped-def]
            return [Placement(d.name, "b") for d in demands]

    assert get_scheduler(OneRack).reservation == "STRICT_PACK"
    policy = OneRack()
    policy.reservation = "EVERYWHERE"
    with pytest.raises(ConfigError, match="reservation must be None or one of PACK"):
        get_scheduler(policy)


def test_node_choices_that_can_never_be_honoured_are_refused() -> None:
    two = demands(2, cpu_node=1)
    check_placements(two, [Placement(d.name, "c") for d in two], nodes())  # c has 2
    three = demands(3, cpu_node=1)
    with pytest.raises(ResourceUnavailableError,
                       match=r"3 tasks needing cpu_node=3 on node c, which only offers "
                             r"cpu_node=2"):
        check_placements(three, [Placement(d.name, "c") for d in three], nodes())
    with pytest.raises(ResourceUnavailableError, match="not an alive node"):
        check_placements(two, [Placement("op[0]", "dead"), Placement("op[1]")], nodes())
    check_placements(three, [Placement(d.name) for d in three], nodes())  # Ray decides
