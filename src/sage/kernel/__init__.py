"""L3 - the declarative dataflow kernel.

The user-facing API (environments, ``DataStream``, function base classes), the
logical-to-physical plan compiler, the local and Ray runtimes, resource-aware
scheduling and the job manager. Knows nothing about LLMs.

``RemoteEnvironment`` (Ray) is exported lazily so ``import sage.kernel`` never imports ray.
"""

from __future__ import annotations

from typing import Any

from sage.kernel.api.datastream import ConnectedStreams, DataStream
from sage.kernel.api.environment import BaseEnvironment, LocalEnvironment
from sage.kernel.api.functions import (
    BaseFunction,
    BatchFunction,
    CoMapFunction,
    FilterFunction,
    FlatMapFunction,
    JoinFunction,
    KeyByFunction,
    MapFunction,
    SinkFunction,
    SourceFunction,
)
from sage.kernel.api.service import BaseService, PipelineService
from sage.kernel.api.sources import CollectSink
from sage.kernel.core.context import TaskContext
from sage.kernel.core.job import JobMetrics
from sage.kernel.graph import DeadLetter, ErrorPolicy
from sage.kernel.plan import PhysicalPlan, compile_plan

__all__ = [
    "BaseEnvironment",
    "BaseFunction",
    "BaseService",
    "BatchFunction",
    "CoMapFunction",
    "CollectSink",
    "ConnectedStreams",
    "DataStream",
    "DeadLetter",
    "ErrorPolicy",
    "FilterFunction",
    "FlatMapFunction",
    "JobMetrics",
    "JoinFunction",
    "KeyByFunction",
    "LocalEnvironment",
    "MapFunction",
    "PhysicalPlan",
    "PipelineService",
    "SinkFunction",
    "SourceFunction",
    "TaskContext",
    "compile_plan",
]


def __getattr__(name: str) -> Any:
    if name == "RemoteEnvironment":
        from sage.kernel.api.remote import RemoteEnvironment

        return RemoteEnvironment
    raise AttributeError(f"module 'sage.kernel' has no attribute {name!r}")
