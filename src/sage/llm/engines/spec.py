"""What an engine is (``EngineSpec``) and what the manager knows about a running one
(``EngineInfo``): the records shared by the manager, the CLI and the control plane."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from sage.common.errors import ConfigError
from sage.common.ports import DEFAULT_HOST

EngineKind = Literal["llm", "embedding", "both"]  # "both": fake and external engines
Backend = str  # a name in sage.llm.engines.backends.ENGINE_BACKENDS

DEFAULT_BACKEND: dict[str, Backend] = {"llm": "llama_cpp", "embedding": "sentence_transformers"}
# Calls the gateway sends an embedding engine at once: the engine merges them into one
# batch (MiniLM here: ~70 sentences/s one by one, ~390 batched).
DEFAULT_EMBEDDING_CAPACITY = 8
# An external LLM server (vLLM, TGI, llama.cpp's server) batches many requests at once;
# one at a time would leave it idle (issue 18: 9.6 req/s vs 239 at 32 on a 100 ms engine).
DEFAULT_EXTERNAL_LLM_CAPACITY = 32


class EngineStatus(str, Enum):
    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"  # process alive (or external URL) but not answering
    DEAD = "dead"  # process exited
    STOPPED = "stopped"


class RayPlacement(BaseModel):
    """Run the engine in a Ray actor on a cluster node instead of as a local child.

    The same vocabulary as dataflow operators (``sage.kernel.scheduler``), so one cluster
    hosts pipelines and engines. ``address``: ``None`` = the Ray of this process (a fresh
    local one if none; detached managers join the running cluster, ``"auto"``), or
    ``"auto"`` / ``"HOST:PORT"`` / ``"ray://HOST:10001"``.
    """

    resources: dict[str, float] = Field(
        default_factory=dict, description="Ray names: num_cpus, num_gpus, memory, custom labels"
    )
    scheduler: str = "default"  # default, spread, pack, load_aware or a registered one
    address: str | None = None
    placement_timeout_s: float = Field(120.0, gt=0, description="wait for busy resources")

    @field_validator("resources")
    @classmethod
    def _check_resources(cls, value: dict[str, float]) -> dict[str, float]:
        negative = {k: v for k, v in value.items() if v < 0}
        if negative:
            raise ConfigError(f"resource amounts must be >= 0, got {negative}")
        return value

    def describe(self) -> str:
        """One line for ``--dry-run`` and logs."""
        needs = ", ".join(f"{k}={v:g}" for k, v in sorted(self.resources.items()))
        return (f"ray (address {self.address or 'local'}; resources "
                f"{needs or 'none'}; scheduler {self.scheduler})")


class RayProcessRef(BaseModel):
    """Where a Ray-placed engine runs: enough for any later driver (another CLI run) to
    find its actor again (:func:`sage.kernel.runtime.ray.processes.find_process`)."""

    name: str  # the placed process's name
    address: str | None = None  # the cluster to connect to (GCS HOST:PORT or ray://...)
    node_id: str = ""
    node_ip: str = ""


class EngineSpec(BaseModel):
    """How to run (or reach) one engine. ``model`` is the name clients send."""

    kind: EngineKind = "llm"
    backend: Backend = "llama_cpp"
    model: str = ""
    aliases: list[str] = Field(default_factory=list, description="other model names it serves")
    model_path: Path | None = None
    device: str = "cpu"
    capacity: int = Field(
        1,
        ge=1,
        description="max concurrent requests it serves well (embedding engines: "
        f"{DEFAULT_EMBEDDING_CAPACITY} unless set)",
    )
    max_batch: int = Field(64, ge=1, description="max inputs per embedding batch")
    port: int | None = None
    host: str = DEFAULT_HOST
    url: str | None = None  # external engines only
    api_key: str | None = Field(None, repr=False)  # kept out of logs and listings
    extra_args: list[str] = Field(default_factory=list)  # passed to the server as is
    placement: RayPlacement | None = None  # None: a child process of the manager
    device_group: str = Field(
        "",
        description="hardware it shares with other engines (same group: same host CPU or "
        "GPU); '' = discovered at launch for engines SAGE runs, unknown for external ones",
    )

    @property
    def models(self) -> list[str]:
        """Every name it serves (``model`` first); empty: it did not say."""
        names = [self.model] if self.model else []
        return names + [a for a in self.aliases if a not in names]

    @model_validator(mode="after")
    def _embedding_capacity(self) -> EngineSpec:
        # An embedding engine batches the calls it holds at once; a capacity of 1 would
        # serialise them in the gateway and leave its batching unused.
        if self.kind == "embedding" and "capacity" not in self.model_fields_set:
            self.capacity = DEFAULT_EMBEDDING_CAPACITY
        elif self.backend == "external" and "capacity" not in self.model_fields_set:
            self.capacity = DEFAULT_EXTERNAL_LLM_CAPACITY
        return self

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        if value == "cpu" or value == "cuda" or (
            value.startswith("cuda:") and value[5:].isdigit()
        ):
            return value
        raise ConfigError(f"device must be 'cpu' or 'cuda:N', not {value!r}")


class EngineInfo(BaseModel):
    """A managed (or external) engine: what the registry stores and ``sage engine list``
    shows; the control plane reads ``id, kind, model, url, capacity, max_batch, healthy``."""

    id: str
    spec: EngineSpec
    url: str
    pid: int | None = None
    status: EngineStatus = EngineStatus.STARTING
    started_at: float = Field(default_factory=time.time)
    restarts: int = 0
    log_path: Path | None = None
    owner_pid: int | None = None  # the manager process it dies with; None: detached
    ray: RayProcessRef | None = None  # set for Ray-placed engines (pid, log_path: on its node)

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def model(self) -> str:
        return self.spec.model

    @property
    def models(self) -> list[str]:
        return self.spec.models

    @property
    def capacity(self) -> int:
        return self.spec.capacity

    @property
    def max_batch(self) -> int:
        return self.spec.max_batch

    @property
    def backend(self) -> str:
        return self.spec.backend

    @property
    def healthy(self) -> bool:
        return self.status is EngineStatus.HEALTHY

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (``.../v1``), what OpenAI clients take."""
        return self.url.rstrip("/") + "/v1"
