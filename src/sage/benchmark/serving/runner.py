"""The open-loop load generator: send each request of a :class:`Workload` at its time,
whatever is still outstanding, and collect one :class:`RequestRecord` per request (the
turns of a multi-turn session wait for their previous answer: :mod:`.sessions`).

Open loop matters: a closed loop (N clients waiting for replies) slows its own sending
when the server slows, which hides queueing delay. Connections are unbounded so queueing
happens in the system under test, never in the client pool. Requests still running
``drain_timeout`` seconds after the last send are cancelled and counted as errors.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from sage.benchmark.serving.client import (
    POOL_LIMITS,
    RequestRecord,
    discover_model,
    scheduling_headers,
    send_chat,
    send_embedding,
)
from sage.benchmark.serving.metrics import ERROR, Outcomes
from sage.benchmark.serving.prefixes import with_prefix
from sage.benchmark.serving.prompts import chat_prompt, synthetic_text
from sage.benchmark.serving.sessions import Sessions
from sage.benchmark.serving.workload import KIND_LLM, Workload, WorkloadSpec
from sage.common.errors import ConfigError


@dataclass
class Target:
    """Where requests go. ``siloed``: each kind to its own engine with its own client;
    otherwise both kinds to one OpenAI base URL (the gateway)."""

    name: str
    llm_url: str
    embedding_url: str
    siloed: bool = False
    llm_model: str | None = None  # None: "default" via a gateway, discovered on an engine
    embedding_model: str | None = None
    api_key: str | None = None

    @classmethod
    def gateway(cls, name: str, url: str, api_key: str | None = None) -> Target:
        return cls(name, url.rstrip("/"), url.rstrip("/"), api_key=api_key)

    @classmethod
    def engines(cls, llm_url: str, embedding_url: str, name: str = "siloed") -> Target:
        return cls(name, llm_url.rstrip("/"), embedding_url.rstrip("/"), siloed=True)


@dataclass
class RunResult:
    """Records of one run plus what is needed to summarise it."""

    target: str
    records: list[RequestRecord]
    duration_s: float
    tenants: list[str]
    started_at: float = field(default_factory=time.time)
    load_avg: tuple[float, ...] = ()

    def outcomes(self, since: float = 0.0) -> Outcomes:
        """The records' columns; ``since``: only requests scheduled from then on (what
        came before warmed the caches up and is not measured)."""
        recs = [r for r in self.records if r.scheduled >= since] if since else self.records
        index = {t: i for i, t in enumerate(self.tenants)}
        owners = [i for i, r in enumerate(recs) for _ in r.itl]
        return Outcomes(
            kind=np.array([r.kind for r in recs], dtype=np.int8),
            tenant=np.array([index[r.tenant] for r in recs], dtype=np.int16),
            tenants=list(self.tenants),
            outcome=np.array([r.outcome for r in recs], dtype=np.int8),
            ttft=np.array([r.ttft for r in recs], dtype=np.float64),
            e2e=np.array([r.e2e for r in recs], dtype=np.float64),
            output_tokens=np.array([r.output_tokens for r in recs], dtype=np.int64),
            input_tokens=np.array([r.input_tokens for r in recs], dtype=np.int64),
            itl=np.array([g for r in recs for g in r.itl], dtype=np.float64),
            itl_owner=np.array(owners, dtype=np.int64),
            cached_tokens=np.array([r.cached_tokens for r in recs], dtype=np.int64),
        )

    def requests_table(self) -> dict[str, list[Any]]:
        """Per-request columns for the result JSON (times in seconds, ``None`` = n/a)."""

        def num(x: float) -> float | None:
            return None if x != x else round(x, 6)

        recs = self.records
        return {
            "scheduled": [round(r.scheduled, 6) for r in recs],
            "sent": [num(r.sent) for r in recs],
            "kind": ["llm" if r.kind == KIND_LLM else "embedding" for r in recs],
            "tenant": [r.tenant for r in recs],
            "status": [r.status for r in recs],
            "outcome": [("ok", "rejected", "error")[r.outcome] for r in recs],
            "ttft": [num(r.ttft) for r in recs],
            "e2e": [num(r.e2e) for r in recs],
            "output_tokens": [r.output_tokens for r in recs],
            "input_tokens": [r.input_tokens for r in recs],
            "max_tokens": [r.max_tokens for r in recs],
            "prompt_tokens": [r.prompt_tokens for r in recs],
            "n_inputs": [r.n_inputs for r in recs],
            "cached_tokens": [r.cached_tokens for r in recs],
            "prefix": [r.prefix for r in recs],
            "prefix_tokens": [r.prefix_tokens for r in recs],
            "engine": [r.engine for r in recs],
            "itl": [[round(g, 5) for g in r.itl] for r in recs],
            "error": [r.error for r in recs],
        }


def _client(timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=10.0), limits=POOL_LIMITS)


async def run_workload(
    workload: Workload,
    spec: WorkloadSpec,
    target: Target,
    *,
    seed: int = 0,
    timeout_s: float = 300.0,
    drain_timeout_s: float = 60.0,
    on_sent: Callable[[], None] | None = None,
    on_done: Callable[[RequestRecord], None] | None = None,
    client: str = "httpx",
) -> RunResult:
    """Send ``workload`` to ``target`` open loop and wait for (or cancel) every reply.

    ``client``: ``"httpx"`` (raw async HTTP, the least client CPU) or ``"openai"`` (the
    official SDK, what applications run).
    """
    if client not in CLIENTS:
        raise ConfigError(f"client must be one of {', '.join(CLIENTS)}, not {client!r}")
    llm_client = _client(timeout_s)
    embed_client = _client(timeout_s) if target.siloed else llm_client
    send = (
        _SdkSender(target, timeout_s)
        if client == "openai"
        else _HttpxSender(target, llm_client, embed_client)
    )
    try:
        llm_model = target.llm_model or (
            await discover_model(llm_client, target.llm_url) if target.siloed else "default"
        )
        embed_model = target.embedding_model or (
            await discover_model(embed_client, target.embedding_url) if target.siloed else "default"
        )
        tenants = {t.name: t for t in spec.tenants}
        records: list[RequestRecord] = []
        sessions = Sessions(workload, spec)  # multi-turn tenants: closed loop per session

        async def one(i: int, record: RequestRecord) -> None:
            tenant = tenants.get(record.tenant)
            slo = tenant.slo(record.kind) if tenant else None
            deadline = slo.e2e_ms if slo is not None and tenant and tenant.send_deadline else None
            headers = scheduling_headers(
                record.tenant, tenant.priority if tenant else 0, deadline, send.header_key
            )
            rid = seed * 1_000_003 + i
            record.sent = time.perf_counter() - t0
            try:
                if record.kind == KIND_LLM and sessions.session_of(i) is not None:
                    prompt = chat_prompt(int(workload.prompt_tokens[i]), rid)
                    await sessions.turn(i, prompt, record, t0, lambda messages: send.chat(
                        llm_model, messages, record, headers, rid))  # fmt: skip
                elif record.kind == KIND_LLM:
                    prompt = chat_prompt(int(workload.prompt_tokens[i]), rid)
                    await send.chat(llm_model, with_prefix(workload, i, prompt), record,
                                    headers, rid)  # fmt: skip
                else:
                    n_tokens = int(workload.prompt_tokens[i])
                    texts = [synthetic_text(n_tokens, rid * 97 + j) for j in range(record.n_inputs)]
                    await send.embedding(embed_model, texts, record, headers)
            finally:
                if on_done is not None:
                    on_done(record)

        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Task[None]] = []
        start = loop.time()
        t0 = time.perf_counter()
        for i in range(len(workload)):
            kind = int(workload.kind[i])
            record = RequestRecord(
                index=i,
                kind=kind,
                tenant=workload.tenants[int(workload.tenant[i])],
                scheduled=float(workload.t[i]),
                max_tokens=int(workload.output_tokens[i]),
                prompt_tokens=int(workload.prompt_tokens[i]),
                n_inputs=int(workload.n_inputs[i]),
                input_tokens=int(workload.prompt_tokens[i]) * int(workload.n_inputs[i]),
            )
            if workload.prefix is not None and workload.prefix_tokens is not None:
                record.prefix = int(workload.prefix[i])
                record.prefix_tokens = int(workload.prefix_tokens[i])
            records.append(record)
            delay = start + record.scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sessions.enter(i)
            tasks.append(loop.create_task(one(i, record)))
            if on_sent is not None:
                on_sent()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=drain_timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        duration = time.perf_counter() - t0
        for record in records:
            if record.outcome == ERROR and not record.error:
                record.error = f"unfinished {drain_timeout_s:g}s after the last send (cancelled)"
        return RunResult(
            target.name, records, duration, list(workload.tenants), load_avg=os.getloadavg()
        )
    finally:
        await send.aclose()
        await llm_client.aclose()
        if embed_client is not llm_client:
            await embed_client.aclose()


CLIENTS = ("httpx", "openai")


class _HttpxSender:
    """Requests as raw async HTTP (:mod:`sage.benchmark.serving.client`)."""

    def __init__(
        self, target: Target, llm: httpx.AsyncClient, embedding: httpx.AsyncClient
    ) -> None:
        self.target, self.llm, self.embedding_client = target, llm, embedding
        self.header_key = target.api_key  # sent as our own Authorization header

    async def chat(
        self, model: str, prompt: str | list[dict[str, str]], record: RequestRecord,
        headers: dict[str, str], seed: int,
    ) -> None:  # fmt: skip
        await send_chat(self.llm, self.target.llm_url, model, prompt, record, headers, seed)

    async def embedding(
        self, model: str, texts: list[str], record: RequestRecord, headers: dict[str, str]
    ) -> None:
        url = self.target.embedding_url
        await send_embedding(self.embedding_client, url, model, texts, record, headers)

    async def aclose(self) -> None:
        """The httpx clients belong to the caller."""


class _SdkSender:
    """Requests through the official ``openai`` SDK (one client per base URL)."""

    header_key = None  # the SDK sends the key itself

    def __init__(self, target: Target, timeout_s: float) -> None:
        from sage.benchmark.serving import openai_sdk  # the SDK only when asked for

        self.sdk = openai_sdk
        self.llm = openai_sdk.sdk_client(target.llm_url, target.api_key, timeout_s)
        self.embedding_client = (
            openai_sdk.sdk_client(target.embedding_url, target.api_key, timeout_s)
            if target.siloed
            else self.llm
        )

    async def chat(
        self, model: str, prompt: str | list[dict[str, str]], record: RequestRecord,
        headers: dict[str, str], seed: int,
    ) -> None:  # fmt: skip
        await self.sdk.sdk_chat(self.llm, model, prompt, record, headers, seed)

    async def embedding(
        self, model: str, texts: list[str], record: RequestRecord, headers: dict[str, str]
    ) -> None:
        await self.sdk.sdk_embedding(self.embedding_client, model, texts, record, headers)

    async def aclose(self) -> None:
        await self.llm.close()
        if self.embedding_client is not self.llm:
            await self.embedding_client.close()
