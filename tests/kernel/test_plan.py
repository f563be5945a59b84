"""The logical -> physical compiler: chaining, channel numbering, resources, loops."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sage.common.errors import ConfigError
from sage.kernel import LocalEnvironment, compile_plan
from sage.kernel.partition import canonical_bytes, partition_for, stable_hash


def test_forward_same_parallelism_is_chained() -> None:
    env = LocalEnvironment("chain")
    env.from_batch(range(3)).map(lambda x: x, name="m").filter(bool, name="f").sink(
        print, name="s")
    plan = env.compile()
    assert [s.operators for s in plan.stages.values()][0][-1].name == "s"
    assert len(plan.stages) == 1 and not plan.edges


def test_chain_breaks_on_keyby_parallelism_fanout_and_resources() -> None:
    env = LocalEnvironment("breaks")
    src = env.from_batch(range(3), name="src")
    a = src.map(lambda x: x, name="a")
    a.keyby(lambda x: x).map(lambda x: x, name="keyed").sink(print, name="s1")
    a.map(lambda x: x, name="wide", parallelism=2).map(
        lambda x: x, name="gpu", parallelism=2, resources={"num_gpus": 1}).sink(
        print, name="s2", parallelism=2, resources={"num_gpus": 1})
    plan = env.compile()
    names = {s.name for s in plan.stages.values()}
    assert names == {"src+a", "keyed+s1", "wide", "gpu+s2"}
    gpu = plan.stage_of("gpu")
    assert gpu.resources == {"num_gpus": 1} and gpu.parallelism == 2
    keyed_edge = plan.stage_of("keyed").in_edges[0]
    assert keyed_edge.strategy == "hash" and keyed_edge.key_selector is not None
    assert plan.stage_of("wide").in_edges[0].strategy == "round_robin"
    described = plan.describe()
    assert any(s["resources"] == {"num_gpus": 1} for s in described["stages"])


def test_chaining_can_be_disabled() -> None:
    env = LocalEnvironment("nochain", config={"chaining": False})
    env.from_batch(range(3)).map(lambda x: x).sink(print)
    assert len(env.compile().stages) == 3


def test_input_channels_are_numbered_per_edge_and_source_instance() -> None:
    env = LocalEnvironment("channels")
    a = env.from_batch(range(3), parallelism=3, name="a")
    b = env.from_batch(range(3), parallelism=2, name="b")
    a.connect(b).comap(type("C", (), {}), name="co")  # validation needs map0/map1 only
    with pytest.raises(ConfigError, match="map0"):
        env.compile()
    env2 = LocalEnvironment("channels2")
    a = env2.from_batch(range(3), parallelism=3, name="a")
    b = env2.from_batch(range(3), parallelism=2, name="b")
    a.connect(b).map(lambda x: x, parallelism=2, name="u")
    stage = env2.compile().stage_of("u")
    channels = stage.input_channels()
    assert stage.num_input_channels == 5
    assert [c.number for c in channels] == [0, 1, 2, 3, 4]
    assert [(c.port, c.src_index) for c in channels] == [(0, 0), (0, 1), (0, 2),
                                                          (1, 0), (1, 1)]


def test_feedback_loop_is_detected_and_not_chained() -> None:
    env = LocalEnvironment("loop")
    fut = env.from_future("f")
    step = env.from_batch([1], name="src").connect(fut).map(lambda x: x + 1, name="step")
    step.filter(lambda x: x < 3, name="back").fill_future(fut)
    step.sink(print, name="out")
    plan = env.compile()
    assert len(plan.loops) == 1
    loop = plan.loops[0]
    assert loop.entries == ["step"] and set(loop.stages) == {"step", "back"}
    assert loop.external_tasks == 1
    feedback = [e for e in plan.edges if e.feedback]
    assert len(feedback) == 1 and feedback[0].in_loop


def test_cycle_without_future_is_rejected() -> None:
    env = LocalEnvironment("cycle")
    env.from_batch([1]).map(lambda x: x)
    graph = env._graph
    names = list(graph.nodes)
    graph.nodes[names[0]].inputs.append(graph.nodes[names[1]].inputs[0].__class__(names[1]))
    with pytest.raises(ConfigError):
        compile_plan(graph, "cycle")


def test_stable_hash_is_canonical() -> None:
    assert stable_hash("abc") == stable_hash("abc")
    assert stable_hash(1) == stable_hash(1.0) == stable_hash(True)
    assert stable_hash((1, "a")) != stable_hash((1, "b"))
    assert canonical_bytes(frozenset({1, 2})) == canonical_bytes(frozenset({2, 1}))
    assert 0 <= partition_for("user-42", 7) < 7


def test_stable_hash_is_the_same_in_another_process() -> None:
    keys = ["alpha", 17, (3, "x"), None, 2.5, b"raw"]
    here = [stable_hash(k) for k in keys]
    code = ("from sage.kernel.partition import stable_hash;"
            f"print([stable_hash(k) for k in {keys!r}])")
    env = {"PYTHONHASHSEED": "123"}
    import os

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, check=True)
    assert out.stdout.strip() == str(here)


def test_importing_kernel_does_not_import_ray() -> None:
    code = "import sys, sage.kernel; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
