"""N engines of one model: the specs ``sage llm serve --llm-replicas N`` and
``sage engine start --replicas N`` start.

Replicas share the machine, so each gets its share of the cores (llama.cpp's
``--n-threads``): two replicas on two cores run one thread each rather than four
threads fighting over two cores. A spec that sets ``--n-threads`` itself is left alone.
"""

from __future__ import annotations

import os

from sage.common.errors import ConfigError
from sage.llm.engines.spec import EngineSpec


def threads_per_replica(replicas: int, cores: int | None = None) -> int:
    return max(1, (cores or os.cpu_count() or 1) // max(1, replicas))


def replica_specs(spec: EngineSpec, replicas: int, cores: int | None = None) -> list[EngineSpec]:
    """``replicas`` copies of ``spec`` (ports left to the manager), threads split for
    llama.cpp engines; one replica is ``spec`` itself."""
    if replicas < 1:
        raise ConfigError("replicas must be >= 1")
    if replicas == 1:
        return [spec]
    if spec.port is not None:
        raise ConfigError("replicas need ports chosen by the engine manager (no fixed port)")
    extra = list(spec.extra_args)
    if spec.backend == "llama_cpp" and "--n-threads" not in extra:
        extra += ["--n-threads", str(threads_per_replica(replicas, cores))]
    return [spec.model_copy(update={"extra_args": extra}) for _ in range(replicas)]
