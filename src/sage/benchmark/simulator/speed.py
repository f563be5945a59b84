"""How fast the simulator runs one policy: ``python -m sage.benchmark.simulator.speed``.

One run as ``sage bench simulate`` makes it (generate, simulate, summarise; no report
files, no victim-alone run) on ``--engines`` LLM engines at ``--utilization`` of the
modelled capacity, printed as one JSON line: wall and CPU seconds (on a shared machine the
CPU time says more about the simulator than the wall time), events, a digest of the
per-request records (equal digests: the same decisions) and the hit rate and TTFT.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from typing import Any

import numpy as np

from sage.benchmark.serving.workload import WorkloadSpec, generate
from sage.benchmark.simulator.cluster import ClusterSpec, capacity_rate
from sage.benchmark.simulator.core import SimResult, simulate
from sage.benchmark.simulator.profiles import Calibration


def records_digest(result: SimResult) -> str:
    """A short digest of the per-request outcomes, TTFTs, e2e times and cached tokens."""
    o, h = result.outcomes, hashlib.sha256()
    for column in (o.outcome, o.ttft, o.e2e, o.output_tokens, o.input_tokens, o.cached_tokens):
        if column is not None:
            h.update(np.ascontiguousarray(column).tobytes())
    return h.hexdigest()[:16]


def workload_spec(name: str) -> WorkloadSpec:
    """A shipped workload by name; ``default`` with chats only (as ``--llm-fraction 1``)."""
    if name != "default":
        return WorkloadSpec.load(name)
    spec = WorkloadSpec.default()
    tenants = [t.model_copy(update={"llm_fraction": 1.0}) for t in spec.tenants]
    return spec.model_copy(update={"tenants": tenants})


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", help="shared-prefix, multi-turn, default or a JSON path")
    parser.add_argument("policy", help="a policy name; policy:precise for prefix_aware's mode")
    parser.add_argument("-n", "--requests", type=int, default=100_000)
    parser.add_argument("-e", "--engines", type=int, default=64)
    parser.add_argument("-u", "--utilization", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    spec, cal = workload_spec(args.workload), Calibration.load()
    cluster = ClusterSpec(args.engines, 0, False)
    rate = round(args.utilization * capacity_rate(spec, cal, cluster), 4)
    cpu, wall = time.process_time(), time.perf_counter()
    workload = generate(spec, rate, n=args.requests, seed=args.seed)
    generated = time.perf_counter()
    name, _, mode = args.policy.partition(":")
    result = simulate(workload, cal, cluster, name, spec=spec,
                      policy_options={"source": mode} if mode else None)  # fmt: skip
    llm = result.summary["by_kind"].get("llm", {})
    out = {
        "workload": args.workload,
        "policy": args.policy,
        "requests": len(workload),
        "generate_s": round(generated - wall, 2),
        "wall_s": round(time.perf_counter() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "events": result.events,
        "digest": records_digest(result),
        "hit_rate": llm.get("prefix_hit_rate"),
        "ttft_ms": {k: llm.get("ttft_ms", {}).get(k) for k in ("p50", "p99")},
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
