"""Setting up a simulated run: its engines, their pool and the per-request data.

Apart from the event loop (:mod:`.core`) because it runs once per run, before the first
event: the modelled engines and the :class:`EnginePool` the policy places over, built
from the cluster and the calibration, and each row's prompt tokens, prefix, tenant
priority and deadline, read from the workload as the gateway would read them.
"""

from __future__ import annotations

import math

import numpy as np

from sage.benchmark.serving.metrics import ERROR
from sage.benchmark.serving.workload import (
    KIND_EMBEDDING,
    KIND_LLM,
    SLO,
    Workload,
    WorkloadSpec,
)
from sage.benchmark.simulator.cluster import ClusterSpec
from sage.benchmark.simulator.engines import (
    Host,
    SimEmbeddingEngine,
    SimEngine,
    SimLLMEngine,
)
from sage.benchmark.simulator.prefix_cache import CacheReports, SimPrefixCache
from sage.benchmark.simulator.profiles import Calibration
from sage.benchmark.simulator.prompt_hashes import PromptHashes
from sage.llm.control_plane.cache_reports import precise_policy
from sage.llm.control_plane.policies import RequestPolicy
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import EngineState, Request

LLM_MODEL = "sim-llm"
EMBEDDING_MODEL = "sim-embedding"


class SimChatRequest(Request):
    """A :class:`Request` whose ``engine_kind`` is a class constant instead of a chain of
    two properties: same value, but policies read it for every engine they consider, and
    that lookup was 40% of simulation time at 64 engines."""

    engine_kind = "llm"  # type: ignore[assignment]


class SimEmbeddingRequest(Request):
    engine_kind = "embedding"  # type: ignore[assignment]


class SimulationSetup:
    """Mixin of :class:`~sage.benchmark.simulator.core.Simulation`: what it builds before
    its loop runs."""

    workload: Workload
    calibration: Calibration
    cluster: ClusterSpec
    spec: WorkloadSpec | None
    policy: RequestPolicy | None
    exact: bool
    prefix_cache_tokens: int
    prompt_hashes: PromptHashes | None

    def _build_engines(self, advertise_speeds: bool) -> None:
        cal, cluster = self.calibration, self.cluster
        llm = [
            SimLLMEngine(
                f"llm-{i}",
                self,
                cal.llm,
                cal.contention.llm_speed,
                cal.contention.llm_prefill_speed,
            )
            for i in range(cluster.llm_engines)
        ]
        emb = [
            SimEmbeddingEngine(
                f"embedding-{i}", self, cal.embedding, cal.contention.embedding_speed
            )
            for i in range(cluster.embedding_engines)
        ]
        if cluster.colocate:
            for i in range(max(len(llm), len(emb))):
                host = Host(f"host-{i}")
                for pool in (llm, emb):
                    if i < len(pool):
                        pool[i].host = host
                        host.engines.append(pool[i])
        self.reports: CacheReports | None = None
        if self.workload.prefix is not None and self.prefix_cache_tokens > 0:
            for engine in llm:
                engine.cache = SimPrefixCache(self.prefix_cache_tokens)
            precise = None if self.policy is None else precise_policy(self.policy)
            if precise is not None:  # fed what the engines hold, as the live poller does
                self.reports = CacheReports(precise, [(e.id, e.cache) for e in llm])
        self.pools: dict[int, list[SimEngine]] = {KIND_LLM: list(llm), KIND_EMBEDDING: list(emb)}
        self._rr = {KIND_LLM: 0, KIND_EMBEDDING: 0}
        states: list[EngineState] = []
        self._state_of: dict[str, EngineState] = {}
        for engine in [*llm, *emb]:
            is_llm = engine.kind == "llm"
            state = EngineState(
                id=engine.id,
                kinds=frozenset({engine.kind}),
                models=frozenset({LLM_MODEL if is_llm else EMBEDDING_MODEL}),
                capacity=cal.llm.capacity if is_llm else cluster.embedding_capacity,
                max_batch=64,
                device_group=engine.host.name if engine.host is not None else "",
            )
            if advertise_speeds:
                state.decode_tokens_per_s = cal.llm.decode_tokens_per_s if is_llm else 0.0
                state.prefill_tokens_per_s = cal.llm.prefill_tokens_per_s if is_llm else 0.0
                if not is_llm:
                    per_item = (
                        cal.embedding.batch_s(64, 32.0 + cal.embedding.extra_tokens_per_input) / 64
                    )
                    state.embed_items_per_s = 1.0 / per_item
            states.append(state)
            self._state_of[engine.id] = state
        # Indexed, as the live dispatcher's: policies place in O(log engines).
        self.states = EnginePool(states)
        self._free = sum(s.capacity for s in self.states)
        self._kind_of_engine = {
            e.id: KIND_LLM if e.kind == "llm" else KIND_EMBEDDING for e in [*llm, *emb]
        }
        self._free_by_kind = [0, 0]
        for state in self.states:
            self._free_by_kind[self._kind_of_engine[state.id]] += state.capacity
        self._queued = [0, 0]
        # Skipping a pass that can place nothing is decision-neutral for idle-pure policies.
        self._kind_skip = self.policy is not None and self.policy.idle_pure
        self._wake_skip = (
            self.policy is not None
            and not self.exact
            and type(self.policy).unchanged_until is not RequestPolicy.unchanged_until
        )
        # The base class never wakes: no need to ask after every event.
        self._wakes = self.policy is not None and (
            type(self.policy).next_wakeup is not RequestPolicy.next_wakeup
        )

    def _prepare_rows(self) -> None:
        w, cal = self.workload, self.calibration
        n = len(w)
        # Chat: prompt tokens as the engine counts them (a replay already has those);
        # embedding: tokens per input, special tokens included.
        template = 0.0 if w.meta.get("llm_engine_tokens") else cal.llm.template_tokens
        is_llm = w.kind == KIND_LLM
        width = w.prompt_tokens + cal.embedding.extra_tokens_per_input
        prompt = w.prompt_tokens if w.prefix_tokens is None else w.prompt_tokens + w.prefix_tokens
        self.engine_tokens = np.where(is_llm, prompt + template, width).astype(np.float64)
        self._prefix_of: list[tuple[int, int] | None] | None = None
        if w.prefix is not None and w.prefix_tokens is not None:
            self._prefix_of = [
                None if pid < 0 else (pid, plen)
                for pid, plen in zip(w.prefix.tolist(), w.prefix_tokens.tolist(), strict=True)
            ]
        self.cached = [0] * n
        self.input_tokens = np.where(is_llm, self.engine_tokens, w.n_inputs * width)
        # Per-tenant scheduling attributes, as the gateway would read them from headers.
        self._priority = [0] * len(w.tenants)
        self._deadline = [[None, None] for _ in w.tenants]  # seconds, per kind
        self._slos: dict[tuple[str, int], SLO] = {}
        if self.spec is not None:
            for index, name in enumerate(w.tenants):
                try:
                    tenant = self.spec.tenant(name)
                except KeyError:
                    continue
                self._priority[index] = tenant.priority
                for kind in (KIND_LLM, KIND_EMBEDDING):
                    slo = tenant.slo(kind)
                    self._slos[(name, kind)] = slo
                    if tenant.send_deadline and slo.e2e_ms is not None:
                        self._deadline[index][kind] = slo.e2e_ms / 1000.0
        self.outcome = [ERROR] * n
        self.ttft = [math.nan] * n
        self.e2e = [math.nan] * n

    def _hashes(self, row: int) -> tuple[int, ...]:
        """The block hashes the gateway would compute for this row's prompt."""
        hashes = self.prompt_hashes
        return () if hashes is None or self._prefix_of is None else hashes.of(row)
