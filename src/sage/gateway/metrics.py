"""Prometheus metrics of one gateway app, in its own registry (tests run many apps)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from sage.llm.control_plane.types import EngineState, Request, RequestKind

_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    120,
)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class GatewayMetrics:
    """Queue depth, TTFT and latency per kind/policy/tenant, batch sizes, engine health.

    Also the control plane's observer (``dispatched``, ``engine_health``).
    """

    def __init__(
        self,
        queue_depth: Callable[[], float] | None = None,
        queued: Callable[[], Iterable[Request]] | None = None,
        engines: Callable[[], Iterable[EngineState]] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        labels = ("kind", "policy", "tenant")
        self.requests = Counter(
            "sage_gateway_requests",
            "Requests answered, by status.",
            (*labels, "status"),
            registry=self.registry,
        )
        self.refusals = Counter(
            "sage_gateway_refusals",
            "Requests the gateway answered with an error of its own, by OpenAI error code "
            "(deadline_exceeded: admitted, then its deadline could not be met).",
            ("kind", "policy", "tenant", "code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "sage_gateway_latency_seconds",
            "Request latency.",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ttft = Histogram(
            "sage_gateway_ttft_seconds",
            "Time to first streamed chunk.",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue = Gauge(
            "sage_gateway_queue_depth",
            "Requests waiting in the policy queue.",
            registry=self.registry,
        )
        if queue_depth is not None:
            self.queue.set_function(queue_depth)
        if queued is not None:  # counted per class only when scraped (the studio: 1/s)
            self.registry.register(_QueueByKind(queued))
        if engines is not None:  # read when scraped: no cost per request
            self.registry.register(_EngineSpeeds(engines))
        self.batch_requests = Histogram(
            "sage_gateway_embedding_batch_requests",
            "Requests merged per embedding dispatch.",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_inputs = Histogram(
            "sage_gateway_embedding_batch_inputs",
            "Texts per embedding dispatch.",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.engine_healthy = Gauge(
            "sage_gateway_engine_healthy",
            "1 if the engine is healthy.",
            ("engine",),
            registry=self.registry,
        )
        self.dispatches = Counter(
            "sage_gateway_dispatches", "Calls sent to engines.", ("engine",), registry=self.registry
        )

    # -- control-plane observer ----------------------------------------------------
    def dispatched(self, engine_id: str, requests: list[Request]) -> None:
        self.dispatches.labels(engine_id).inc()
        if requests and requests[0].kind is RequestKind.EMBEDDING:
            self.batch_requests.observe(len(requests))
            self.batch_inputs.observe(sum(r.n_inputs for r in requests))

    def engine_health(self, engine_id: str, healthy: bool) -> None:
        self.engine_healthy.labels(engine_id).set(1 if healthy else 0)

    # -- gateway -------------------------------------------------------------------
    def observe(self, kind: str, policy: str, tenant: str, status: int, seconds: float) -> None:
        self.requests.labels(kind, policy, tenant, str(status)).inc()
        if status < 400:
            self.latency.labels(kind, policy, tenant).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _QueueByKind(Collector):
    """``sage_gateway_queue_depth_by_kind{kind}``: the policy queue per request class."""

    def __init__(self, queued: Callable[[], Iterable[Request]]) -> None:
        self.queued = queued

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = dict.fromkeys((k.value for k in RequestKind), 0)
        for request in self.queued():
            counts[request.kind.value] += 1
        family = GaugeMetricFamily(
            "sage_gateway_queue_depth_by_kind", "Requests waiting, per class.", labels=["kind"]
        )
        for kind, count in counts.items():
            family.add_metric([kind], count)
        yield family


class _EngineSpeeds(Collector):
    """``sage_gateway_engine_<figure>{engine, device_group}``: each engine's speeds as the
    policies see them (declared, or learned from the replies; 0 until known)."""

    FIGURES = ("decode_tokens_per_s", "prefill_tokens_per_s", "embed_items_per_s")

    def __init__(self, engines: Callable[[], Iterable[EngineState]]) -> None:
        self.engines = engines

    def collect(self) -> Iterator[GaugeMetricFamily]:
        states = list(self.engines())
        for figure in self.FIGURES:
            family = GaugeMetricFamily(
                f"sage_gateway_engine_{figure}",
                f"Engine {figure.replace('_', ' ')} (declared or learned).",
                labels=["engine", "device_group"],
            )
            for state in states:
                family.add_metric([state.id, state.device_group], getattr(state, figure))
            yield family
