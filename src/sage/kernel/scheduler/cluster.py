"""Live cluster facts for the policies: Ray's node table as :class:`NodeInfo` records.

Imports ray lazily (only the Ray runtime calls this, with Ray initialised).
"""

from __future__ import annotations

import re
from typing import Any

from sage.kernel.scheduler.resources import NodeInfo

# Resources Ray derives from placement groups (``CPU_group_<pg id>``,
# ``bundle_group_0_<pg id>``); some Ray versions list them among a node's resources.
_GROUP_RESOURCE = re.compile(r"_group_(\d+_)?[0-9a-f]{32,}$")


def _node_resources(raw: dict[str, Any]) -> dict[str, float]:
    """A node's own resources: without ``node:<ip>`` markers, the object store and the
    per-placement-group copies (policies compare real capacity)."""
    return {k: float(v) for k, v in raw.items()
            if not k.startswith("node:") and k != "object_store_memory"
            and not _GROUP_RESOURCE.search(k)}


def _available_per_node() -> dict[str, dict[str, Any]]:
    """Free resources per node id from Ray's state API ({} when it is unavailable, and
    the policies then see totals)."""
    try:
        from ray._private.state import state as ray_state
    except ImportError:  # private module moved
        return {}
    for name in ("available_resources_per_node", "_available_resources_per_node"):
        getter = getattr(ray_state, name, None)  # newer Ray: no underscore
        if getter is not None:
            try:
                return dict(getter())
            except Exception:  # noqa: BLE001 - private API may change between versions
                return {}
    return {}


def live_nodes() -> list[NodeInfo]:
    """Every alive node with its total and currently available resources."""
    import ray

    available = {k: _node_resources(v) for k, v in _available_per_node().items()}
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
