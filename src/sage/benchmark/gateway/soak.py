"""Overload soak: the gateway at many times its engines' capacity for minutes.

Two fake engines (``sage.llm.engines.fake``: an LLM with a fixed per-chat time and an
embedding engine), a gateway in its own process with the default policy, and an
open-loop client sending chats, streamed chats and embeddings at ``overload`` x the
pool's capacity. What must hold (:meth:`SoakReport.violations`):

* every reply is 200 or 429, and each 429 has OpenAI's error shape (no 5xx, nothing else);
* nothing accepted is lost: every request sent got a reply, the gateway counted as many
  200s as the client did, the LLM engine ran exactly the chats answered 200, and the
  queue is empty at the end;
* the gateway's memory stays bounded: RSS in the last third of the run within
  ``rss_growth_mb`` of the first third.

Run: ``python -m sage.benchmark.gateway.soak --duration 300 --overload 10 -o soak.json``
(loopback only; bounded in time, count and connections).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sage.benchmark.gateway.process_stats import cpu_s, rss_mb
from sage.benchmark.gateway.soak_load import Traffic, TrafficResult, run_traffic
from sage.common.config import GatewaySettings
from sage.common.ports import ephemeral_port
from sage.llm.engine_manager import EngineManager
from sage.llm.engines.spec import EngineSpec

if TYPE_CHECKING:
    from sage.gateway.stack import ServingStack


@dataclass
class SoakConfig:
    duration_s: float = 300.0
    overload: float = 10.0  # offered rate / pool capacity
    chat_share: float = 0.5  # the rest are embedding requests
    stream_share: float = 0.5  # of the chats
    llm_capacity: int = 2
    chat_ms: float = 200.0  # fake LLM time per chat: latency + 16 tokens x token delay
    embed_capacity: int = 2
    embed_ms: float = 10.0  # fake embedding time per call (batched or not)
    max_queue: int = 256  # the gateway's queue bound (default 1024)
    max_queue_wait_s: float | None = 30.0  # queued longer: 429 (default: unbounded)
    rss_growth_mb: float = 64.0
    seed: int = 0
    real: bool = False  # the default SmolLM2 + MiniLM engines instead of fakes
    real_capacity_rps: float = 4.0  # their mixed capacity here (2-core VM), for the rate

    @property
    def capacity_rps(self) -> float:
        """Requests/s the pool completes with this mix: the LLM is the bottleneck."""
        if self.real:
            return self.real_capacity_rps
        return self.llm_capacity / (self.chat_ms / 1000) / self.chat_share

    @property
    def rate(self) -> float:
        return self.overload * self.capacity_rps


@dataclass
class SoakReport:
    config: dict[str, Any]
    traffic: dict[str, Any]
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (s since start, MB)
    gateway: dict[str, float] = field(default_factory=dict)  # from its /metrics
    engine: dict[str, int] = field(default_factory=dict)  # the fake LLM's counters
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    gateway_cpu_s: float = 0.0
    engines: list[dict[str, Any]] = field(default_factory=list)  # /admin/engines at the end

    def violations(self) -> list[str]:
        out = []
        status = self.traffic["status"]
        odd = {k: v for k, v in status.items() if not k.endswith((":200", ":429"))}
        if odd:
            out.append(f"replies other than 200/429: {odd}")
        if self.traffic["bad_shape"]:
            out.append(f"replies of the wrong shape: {self.traffic['bad_shape']}")
        if self.traffic["lost"]:
            out.append(f"requests without a reply: {self.traffic['lost']}")
        ok = sum(v for k, v in status.items() if k.endswith(":200"))
        if self.gateway.get("ok") != ok:
            out.append(f"gateway counted {self.gateway.get('ok')} answered, the client {ok}")
        chats = status.get("chat:200", 0) + status.get("stream:200", 0)
        if self.engine and self.engine.get("requests") != chats:  # the fake's counter
            out.append(f"the LLM engine ran {self.engine.get('requests')} chats, {chats} answered")
        if self.gateway.get("queue_depth", 0):
            out.append(f"{self.gateway['queue_depth']:.0f} requests left in the queue")
        growth = self.rss_growth_mb()
        if growth > self.config["rss_growth_mb"]:
            out.append(f"gateway RSS grew {growth:.1f} MB (bound {self.config['rss_growth_mb']})")
        return out

    def rss_growth_mb(self) -> float:
        """Median RSS of the last third of the samples minus that of the first third."""
        values = [mb for _, mb in self.rss_mb]
        if len(values) < 3:
            return 0.0
        third = len(values) // 3
        return statistics.median(values[-third:]) - statistics.median(values[:third])

    def summary(self) -> dict[str, float]:
        """The headline figures (``sage bench gateway -s soak``'s table)."""
        status = self.traffic["status"]
        refused = [v for k, v in self.latency_ms.items() if k.endswith(":429")]
        rss = [mb for _, mb in self.rss_mb] or [0.0]
        return {
            "offered_rps": self.config["rate"],
            "sent": self.traffic["sent"],
            "ok": sum(v for k, v in status.items() if k.endswith(":200")),
            "refused": sum(v for k, v in status.items() if k.endswith(":429")),
            "other": sum(v for k, v in status.items() if not k.endswith((":200", ":429"))),
            "lost": sum(self.traffic["lost"].values()),
            "refusal_p99_ms": max((r["p99"] for r in refused), default=0.0),
            "rss_max_mb": max(rss),
            "rss_growth_mb": self.rss_growth_mb(),
            "violations": len(self.violations()),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rss_growth_mb": self.rss_growth_mb(),
                "violations": self.violations()}  # fmt: skip


class _RssSampler(threading.Thread):
    def __init__(self, pid: int, interval_s: float = 1.0) -> None:
        super().__init__(daemon=True, name="soak-rss")
        self.pid, self.interval_s = pid, interval_s
        self.samples: list[tuple[float, float]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stopped.is_set():
            try:
                self.samples.append((round(time.monotonic() - start, 1), rss_mb(self.pid)[0]))
            except (OSError, KeyError):  # gone, or a zombie without memory figures
                return
            self.stopped.wait(self.interval_s)


def _gateway_figures(url: str) -> dict[str, float]:
    """Answered (200) requests and queue depth from the gateway's Prometheus text."""
    from sage.common.admin_token import admin_headers

    text = httpx.get(url + "/metrics", headers=admin_headers(), timeout=10).text
    figures = {"ok": 0.0, "refused": 0.0, "queue_depth": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "sage_gateway_requests_total":
                status = sample.labels.get("status")
                if status == "200":
                    figures["ok"] += sample.value
                elif status == "429":
                    figures["refused"] += sample.value
            elif sample.name == "sage_gateway_queue_depth":
                figures["queue_depth"] = sample.value
    return figures


def _engines(url: str) -> list[dict[str, Any]]:
    from sage.common.admin_token import admin_headers

    keep = ("id", "kinds", "capacity", "device_group", "decode_tokens_per_s",
            "prefill_tokens_per_s", "embed_items_per_s")  # fmt: skip
    listed = httpx.get(url + "/admin/engines", headers=admin_headers(), timeout=10).json()
    return [{k: e.get(k) for k in keep} for e in listed["engines"]]


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"n": len(ordered), "p50": at(0.5), "p99": at(0.99), "max": at(1.0)}


@contextmanager
def _serving(
    config: SoakConfig, manager: EngineManager | None
) -> Iterator[tuple[ServingStack, str | None, str, str]]:
    """The gateway over the soak's engines: ``(stack, fake LLM URL or None, llm model,
    embedding model)``; the real default engines with ``config.real``."""
    from sage.gateway.stack import ServingStack

    settings = GatewaySettings(
        max_queue=config.max_queue, max_queue_wait_s=config.max_queue_wait_s
    )
    if config.real:
        with ServingStack(llm_model="default", embedding_model="default",
                          settings=settings, mode="process") as stack:  # fmt: skip
            yield stack, None, "default", "default"
        return
    own = manager is None
    manager = manager or EngineManager(persist=False)
    tokens_delay = (config.chat_ms - 40.0) / 16  # 40 ms before the first token
    llm_spec = EngineSpec(
        kind="llm", backend="fake", capacity=config.llm_capacity, port=ephemeral_port(),
        extra_args=["--latency-ms", "40", "--tokens", "16",
                    "--token-delay-ms", f"{tokens_delay:g}"],
    )  # fmt: skip
    embed_spec = EngineSpec(
        kind="embedding", backend="fake", capacity=config.embed_capacity, port=ephemeral_port(),
        extra_args=["--latency-ms", f"{config.embed_ms:g}"],
    )  # fmt: skip
    started = [manager.start(llm_spec, wait=False), manager.start(embed_spec, wait=False)]
    try:
        infos = [manager.wait_healthy(info.id) for info in started]
        with ServingStack(engines=infos, settings=settings, mode="process") as stack:
            yield stack, infos[0].url, "fake-llm", "fake-embedding"
    finally:
        for info in started:
            with contextlib.suppress(KeyError):  # one that failed to start is gone already
                manager.stop(info.id)
        if own:
            manager.stop_all()


def run_soak(config: SoakConfig, manager: EngineManager | None = None) -> SoakReport:
    """Start the engines and the gateway, run the traffic, check the invariants."""
    with _serving(config, manager) as (stack, fake_llm, llm_model, embedding_model):
        assert stack._process is not None
        pid = stack._process.pid
        sampler = _RssSampler(pid)
        sampler.start()
        chat = config.chat_share
        traffic = Traffic(
            rate=config.rate,
            duration_s=config.duration_s,
            shares={"chat": chat * (1 - config.stream_share),
                    "stream": chat * config.stream_share, "embedding": 1 - chat},
            llm_model=llm_model,
            embedding_model=embedding_model,
            seed=config.seed,
        )  # fmt: skip
        result: TrafficResult = asyncio.run(run_traffic(stack.url, traffic))
        time.sleep(0.5)  # the last replies' bookkeeping (slots, metrics)
        sampler.stopped.set()
        sampler.join()
        engine = {}
        if fake_llm is not None:
            counters = httpx.get(fake_llm + "/health", timeout=10).json()
            engine = {k: v for k, v in counters.items() if isinstance(v, int)}
        return SoakReport(
            config={**asdict(config), "rate": config.rate, "capacity_rps": config.capacity_rps},
            traffic={
                "sent": result.sent, "skipped": result.skipped,
                "status": dict(result.status), "bad_shape": dict(result.bad_shape),
                "lost": dict(result.lost), "send_s": round(result.send_s, 2),
                "drain_s": round(result.drain_s, 2),
                "send_lag_ms": _percentiles(result.send_lag_s),
                "achieved_rate": round(result.sent / result.send_s, 1) if result.send_s else 0,
            },  # fmt: skip
            rss_mb=sampler.samples,
            gateway=_gateway_figures(stack.url),
            engine=engine,
            latency_ms={k: _percentiles(v) for k, v in result.latencies.items()},
            gateway_cpu_s=round(cpu_s(pid), 1),
            engines=_engines(stack.url),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of traffic")
    parser.add_argument("--overload", type=float, default=10.0, help="x pool capacity")
    parser.add_argument("--max-queue", type=int, default=256)
    parser.add_argument("--max-queue-wait", type=float, default=30.0, help="s; 0: none")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", action="store_true", help="SmolLM2 + MiniLM, not fakes")
    parser.add_argument("--real-capacity", type=float, default=4.0, help="their req/s")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args(argv)
    config = SoakConfig(duration_s=args.duration, overload=args.overload,
                        max_queue=args.max_queue, seed=args.seed, real=args.real,
                        max_queue_wait_s=args.max_queue_wait or None,
                        real_capacity_rps=args.real_capacity)  # fmt: skip
    report = run_soak(config).to_dict()
    summary = {k: report[k] for k in ("traffic", "gateway", "latency_ms", "gateway_cpu_s",
                                      "engines", "rss_growth_mb", "violations")}  # fmt: skip
    rss = [mb for _, mb in report["rss_mb"]]
    summary["rss_mb"] = {"first": rss[0], "max": max(rss), "last": rss[-1]} if rss else {}
    print(json.dumps(summary, indent=2))
    if args.output is not None:
        args.output.write_text(json.dumps(report, indent=2))
    return 1 if report["violations"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
