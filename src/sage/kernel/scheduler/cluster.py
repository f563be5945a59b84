"""Live cluster facts for the policies: Ray's node table as :class:`NodeInfo` records.

Imports ray lazily (only the Ray runtime calls this, with Ray initialised).
"""

from __future__ import annotations

from typing import Any

from sage.kernel.scheduler.resources import NodeInfo


def _node_resources(raw: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in raw.items()
            if not k.startswith("node:") and k != "object_store_memory"}


def live_nodes() -> list[NodeInfo]:
    """Every alive node with its total and currently available resources."""
    import ray

    available: dict[str, dict[str, float]] = {}
    try:  # per-node availability (Ray's state API); fall back to totals
        from ray._private.state import state as ray_state

        available = {k: _node_resources(v)
                     for k, v in ray_state._available_resources_per_node().items()}
    except Exception:  # noqa: BLE001 - private API may move between Ray versions
        available = {}
    out = []
    for node in ray.nodes():
        if not node.get("Alive", False):
            continue
        node_id = node["NodeID"]
        total = _node_resources(node.get("Resources", {}))
        out.append(NodeInfo(node_id=node_id, total=total,
                            available=available.get(node_id, dict(total)),
                            alive=True, address=node.get("NodeManagerAddress", "")))
    return out
