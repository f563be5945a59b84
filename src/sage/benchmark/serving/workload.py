"""What is sent: tenants with their own rates, mixes, lengths and SLOs, generated into a
columnar :class:`Workload` (numpy arrays, one row per request).

The same ``Workload`` drives the real load generator and the simulator, so a real run
can be replayed in simulation request for request. Each tenant draws from its own seeded
stream, so dropping a tenant (the "alone" run of the interference metric) leaves the
other tenants' requests exactly as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sage.benchmark.serving.arrivals import arrival_times
from sage.benchmark.serving.prefixes import prefix_columns
from sage.common.errors import ConfigError

KIND_LLM = 0
KIND_EMBEDDING = 1
KIND_NAMES = ("llm", "embedding")


class LengthDist(BaseModel):
    """A token-count distribution: ``fixed`` (value), ``uniform`` (min..max) or
    ``lognormal`` (mean, sigma of the log), clipped to ``[min, max]``."""

    model_config = ConfigDict(extra="forbid")

    dist: Literal["fixed", "uniform", "lognormal"] = "lognormal"
    value: int = Field(16, ge=0)
    mean: float = Field(64.0, gt=0)
    sigma: float = Field(0.5, ge=0)
    min: int = Field(1, ge=0)
    max: int = Field(1024, ge=1)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.dist == "fixed":
            return np.full(n, self.value, dtype=np.int32)
        if self.dist == "uniform":
            return rng.integers(self.min, self.max + 1, size=n).astype(np.int32)
        mu = np.log(self.mean) - self.sigma**2 / 2  # so that the mean is ``mean``
        values = np.rint(rng.lognormal(mu, self.sigma, size=n))
        return np.clip(values, self.min, self.max).astype(np.int32)


def fixed(value: int) -> LengthDist:
    return LengthDist(dist="fixed", value=value)


class SLO(BaseModel):
    """Latency objectives in milliseconds; ``None`` means not checked."""

    model_config = ConfigDict(extra="forbid")

    ttft_ms: float | None = Field(None, gt=0)
    tpot_ms: float | None = Field(None, gt=0)
    e2e_ms: float | None = Field(None, gt=0)


class TenantSpec(BaseModel):
    """One tenant: its share of the total rate, traffic mix, lengths and objectives."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0, description="share of the total request rate")
    llm_fraction: float = Field(0.5, ge=0, le=1, description="chat requests; rest embeddings")
    burstiness: float = Field(1.0, gt=0, description="gamma shape; 1 = Poisson, <1 bursty")
    priority: int = 0
    send_deadline: bool = Field(True, description="send the e2e SLO as X-SAGE-Deadline-Ms")
    prompt_tokens: LengthDist = Field(default_factory=lambda: LengthDist(mean=64, max=512))
    output_tokens: LengthDist = Field(default_factory=lambda: LengthDist(mean=32, max=256))
    embedding_tokens: LengthDist = Field(default_factory=lambda: LengthDist(mean=32, max=256))
    embedding_inputs: LengthDist = Field(default_factory=lambda: fixed(1))
    llm_slo: SLO = Field(default_factory=SLO)
    embedding_slo: SLO = Field(default_factory=SLO)
    prefix_tokens: int = Field(
        0, ge=0, le=8192, description="own system prompt / tool catalog before every chat"
    )
    sessions: int = Field(0, ge=0, description="multi-turn: chats take turns over sessions")
    max_history_tokens: int = Field(1800, ge=1, description="a longer session starts anew")

    def slo(self, kind: int) -> SLO:
        return self.llm_slo if kind == KIND_LLM else self.embedding_slo


class WorkloadSpec(BaseModel):
    """Tenants sharing one total request rate (split by weight)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "custom"
    tenants: list[TenantSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> WorkloadSpec:
        names = [t.name for t in self.tenants]
        if len(set(names)) != len(names):
            raise ConfigError(f"tenant names must be unique: {names}")
        return self

    @classmethod
    def load(cls, path: str | Path) -> WorkloadSpec:
        """A workload file, or a shipped one by name (``shared-prefix``, ``multi-turn``)."""
        if not Path(path).exists() and str(path) in shipped_workloads():
            name = f"data/workload_{str(path).replace('-', '_')}.json"
            text = resources.files("sage.benchmark.serving").joinpath(name).read_text()
            return cls.model_validate_json(text)
        return cls.model_validate_json(Path(path).read_text())

    @classmethod
    def default(cls) -> WorkloadSpec:
        """The shipped two-tenant mixed workload (``data/workload_default.json``)."""
        text = resources.files("sage.benchmark.serving").joinpath("data/workload_default.json")
        return cls.model_validate_json(text.read_text())

    def tenant(self, name: str) -> TenantSpec:
        for t in self.tenants:
            if t.name == name:
                return t
        raise KeyError(name)

    def tenant_rates(self, rate: float) -> dict[str, float]:
        total = sum(t.weight for t in self.tenants)
        return {t.name: rate * t.weight / total for t in self.tenants}

    def llm_share(self) -> float:
        """Fraction of all requests that are chat requests."""
        total = sum(t.weight for t in self.tenants)
        return sum(t.weight * t.llm_fraction for t in self.tenants) / total


def shipped_workloads() -> list[str]:
    """Names of the workloads shipped in ``sage/benchmark/serving/data``."""
    folder = resources.files("sage.benchmark.serving").joinpath("data")
    return sorted(
        f.name[len("workload_") : -len(".json")].replace("_", "-")
        for f in folder.iterdir()
        if f.name.startswith("workload_") and f.name.endswith(".json")
    )


@dataclass
class Workload:
    """Requests in arrival order, column by column (``t`` in seconds from the start)."""

    t: np.ndarray  # float64
    kind: np.ndarray  # int8: KIND_LLM / KIND_EMBEDDING
    tenant: np.ndarray  # int16 index into ``tenants``
    prompt_tokens: np.ndarray  # int32; embeddings: tokens per input
    output_tokens: np.ndarray  # int32; max_tokens asked for (0 for embeddings)
    n_inputs: np.ndarray  # int32; texts per embedding request (1 for chat)
    tenants: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    # Shared prefixes (sage.benchmark.serving.prefixes): id (-1: none) and tokens per row.
    prefix: np.ndarray | None = None
    prefix_tokens: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def duration(self) -> float:
        return float(self.meta.get("duration") or (self.t[-1] if len(self) else 0.0))

    def select(self, mask: np.ndarray) -> Workload:
        return Workload(
            self.t[mask],
            self.kind[mask],
            self.tenant[mask],
            self.prompt_tokens[mask],
            self.output_tokens[mask],
            self.n_inputs[mask],
            list(self.tenants),
            dict(self.meta),
            None if self.prefix is None else self.prefix[mask],
            None if self.prefix_tokens is None else self.prefix_tokens[mask],
        )

    def only_tenant(self, name: str) -> Workload:
        """This workload restricted to one tenant (same requests, same times)."""
        return self.select(self.tenant == self.tenants.index(name))

    def to_columns(self) -> dict[str, list[Any]]:
        return {
            "t": [round(float(x), 6) for x in self.t],
            "kind": [KIND_NAMES[k] for k in self.kind],
            "tenant": [self.tenants[i] for i in self.tenant],
            "prompt_tokens": self.prompt_tokens.tolist(),
            "output_tokens": self.output_tokens.tolist(),
            "n_inputs": self.n_inputs.tolist(),
            **({} if self.prefix is None or self.prefix_tokens is None else {
                "prefix": self.prefix.tolist(), "prefix_tokens": self.prefix_tokens.tolist()
            }),
        }  # fmt: skip

    @classmethod
    def from_rows(
        cls,
        t: list[float],
        kinds: list[str],
        tenants: list[str],
        prompt_tokens: list[int],
        output_tokens: list[int],
        n_inputs: list[int],
        meta: dict[str, Any] | None = None,
        prefix: list[int] | None = None,
        prefix_tokens: list[int] | None = None,
    ) -> Workload:
        """Build from per-request lists (kinds as names); rows are sorted by time; shared
        prefix ids and lengths kept when given (``prefix`` ``None``: none shared)."""
        names = list(dict.fromkeys(tenants))
        order = np.argsort(np.asarray(t, dtype=np.float64), kind="stable")
        index = {n: i for i, n in enumerate(names)}
        return cls(
            np.asarray(t, dtype=np.float64)[order],
            np.asarray([KIND_NAMES.index(k) for k in kinds], dtype=np.int8)[order],
            np.asarray([index[x] for x in tenants], dtype=np.int16)[order],
            np.asarray(prompt_tokens, dtype=np.int32)[order],
            np.asarray(output_tokens, dtype=np.int32)[order],
            np.asarray(n_inputs, dtype=np.int32)[order],
            names,
            dict(meta or {}),
            None if prefix is None else np.asarray(prefix, dtype=np.int64)[order],
            None if prefix is None else np.asarray(prefix_tokens, dtype=np.int32)[order],
        )


def generate(
    spec: WorkloadSpec,
    rate: float,
    *,
    duration: float | None = None,
    n: int | None = None,
    seed: int = 0,
) -> Workload:
    """Draw a workload at total ``rate`` req/s for ``duration`` s (or about ``n`` requests).

    With ``n``, every tenant gets its share of ``n`` (rounded), so the total is ``n``
    give or take one per tenant.
    """
    if (duration is None) == (n is None):
        raise ConfigError("give exactly one of duration or n")
    rates = spec.tenant_rates(rate)
    total_weight = sum(t.weight for t in spec.tenants)
    streams = np.random.SeedSequence(seed).spawn(len(spec.tenants))
    parts: list[tuple[np.ndarray, ...]] = []
    for index, (tenant, stream) in enumerate(zip(spec.tenants, streams, strict=True)):
        rng = np.random.default_rng(stream)
        count = None if n is None else max(0, round(n * tenant.weight / total_weight))
        times = arrival_times(
            rates[tenant.name], rng, duration=duration, n=count, burstiness=tenant.burstiness
        )
        m = len(times)
        kinds = np.where(rng.random(m) < tenant.llm_fraction, KIND_LLM, KIND_EMBEDDING).astype(
            np.int8
        )
        is_llm = kinds == KIND_LLM
        prompt = np.where(
            is_llm, tenant.prompt_tokens.sample(rng, m), tenant.embedding_tokens.sample(rng, m)
        ).astype(np.int32)
        output = np.where(is_llm, tenant.output_tokens.sample(rng, m), 0).astype(np.int32)
        inputs = np.where(is_llm, 1, np.maximum(1, tenant.embedding_inputs.sample(rng, m)))
        pid, plen = prefix_columns(index, tenant.prefix_tokens, tenant.sessions,
                                   tenant.max_history_tokens, is_llm, prompt, output)  # fmt: skip
        parts.append(
            (times, kinds, np.full(m, index, np.int16), prompt, output, inputs.astype(np.int32),
             pid, plen)
        )  # fmt: skip
    columns = [np.concatenate([p[i] for p in parts]) for i in range(8)]
    order = np.argsort(columns[0], kind="stable")
    meta = {
        "workload": spec.name,
        "rate": rate,
        "seed": seed,
        "duration": duration,
        "tenant_rates": rates,
    }
    sorted_columns = [c[order] for c in columns]
    shared = any(t.prefix_tokens or t.sessions for t in spec.tenants)
    prefix = sorted_columns[6:] if shared else [None, None]
    return Workload(*sorted_columns[:6], [t.name for t in spec.tenants], meta, *prefix)
