"""Policy options pass the policy's own ``Options`` model: a bad one is a ConfigError
naming the option, and a control plane that is refused a change keeps its policy."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from sage.common.errors import ConfigError
from sage.llm.control_plane import policies
from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.control_plane.policies import (
    POLICIES,
    FifoPolicy,
    PolicyOptions,
    RequestPolicy,
    available_policies,
    get_policy,
    register_policy,
)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("fair", {"quantum": 0}, "quantum"),  # once hung the gateway in a busy loop
        ("fair", {"quantum": "abc"}, "quantum"),  # once made every request a 500
        ("fair", {"quantum": -1.0}, "quantum"),
        ("fair", {"weights": {"a": 0}}, "weights.a"),
        ("fair", {"max_queue_per_tenant": 0}, "max_queue_per_tenant"),
        ("hybrid", {"max_wait_s": -0.1}, "max_wait_s"),
        ("hybrid", {"max_wait_s": 3600}, "max_wait_s"),
        ("hybrid", {"batch_size": 0}, "batch_size"),
        ("hybrid", {"batch_size": "8"}, "batch_size"),
        ("hybrid", {"fair_share": "yes"}, "fair_share"),
        ("slo_aware", {"smoothing": 0}, "smoothing"),
        ("fifo", {"quantum": 1}, "quantum"),  # fifo takes no options
        ("hybrid", {"batch": 8}, "batch"),  # a typo is not silently ignored
    ],
)
def test_bad_options_are_config_errors(name: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"bad options for policy '{name}': {message}"):
        get_policy(name, **options)


def test_good_options_reach_the_policy() -> None:
    fair = get_policy("fair", quantum=2, weights={"a": 3}, max_queue_per_tenant=5)
    assert (fair.quantum, fair.weights, fair.max_queue_per_tenant) == (2, {"a": 3}, 5)
    hybrid = get_policy("hybrid", max_queue=7, batch_size=4, max_wait_s=0)
    assert (hybrid.max_queue, hybrid.batch_size, hybrid.max_wait_s) == (7, 4, 0)
    with pytest.raises(ConfigError, match="max_queue"):
        get_policy("fifo", max_queue=0)


def test_policies_declare_what_the_simulator_needs() -> None:
    pure = {name for name in available_policies() if get_policy(name).idle_pure}
    assert pure == {"fifo", "round_robin", "least_loaded", "priority", "slo_aware", "hybrid"}


def test_a_plugin_registers_with_its_options() -> None:
    class Lifo(FifoPolicy):
        class Options(PolicyOptions):
            depth: int = 1

        def __init__(self, max_queue: int = 1024, depth: int = 1) -> None:
            super().__init__(max_queue)
            self.depth = depth

    register_policy("test_lifo", Lifo)
    try:
        assert get_policy("test_lifo", depth=3).depth == 3 and Lifo.name == "test_lifo"
        with pytest.raises(ConfigError, match="already registered"):
            register_policy("fifo", Lifo)
    finally:
        POLICIES.unregister("test_lifo")


def test_the_old_name_still_works_with_a_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert policies.SchedulingPolicy is RequestPolicy
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


async def test_a_refused_change_leaves_the_running_policy_untouched() -> None:
    async with ControlPlane("fair", policy_options={"quantum": 2.0}) as cp:
        running = cp.policy
        for name, options in [("fair", {"quantum": 0}), ("nope", {}), ("hybrid", {"x": 1})]:
            with pytest.raises(ConfigError):
                cp.set_policy(name, **options)
            assert cp.policy is running
        with pytest.raises(ConfigError, match="max_queue"):
            cp.set_policy("fifo", max_queue=3)
        # The options it remembers are the ones that were accepted.
        assert cp.set_policy("fair", weights={"a": 2.0}).quantum == 2.0
