"""Prometheus metrics: per-route request counts, latency histograms, in-flight gauge."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class HttpMetrics:
    """The metric families of one app, in the app's own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "maia_http_requests_total",
            "HTTP requests by method, route template and status class.",
            ["method", "path", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "maia_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "path"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "maia_http_requests_in_flight", "HTTP requests being served.", registry=registry
        )
        self.rate_limited = Counter(
            "maia_rate_limited_requests_total",
            "Requests rejected by the rate limit.",
            registry=registry,
        )
        self.auth_failures = Counter(
            "maia_auth_failures_total",
            "Requests refused by authentication or tenant status, by error code.",
            ["code"],
            registry=registry,
        )
        self.quota_rejections = Counter(
            "maia_quota_rejections_total",
            "Writes refused by a quota (memories, storage, namespaces), by tenant.",
            ["tenant", "quota"],
            registry=registry,
        )
        self.operations = Histogram(
            "maia_operation_duration_seconds",
            "Time in the service's expensive steps: embed, search, context, store_write.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.tenant_requests = Counter(
            "maia_tenant_requests_total",
            "Authenticated requests by tenant.",
            ["tenant"],
            registry=registry,
        )


@dataclass(frozen=True, slots=True)
class StoreReading:
    storage_bytes: int
    memories: int
    namespaces: int
    indexed_vectors: int
    tenants: dict[str, tuple[int, int]]  # tenant -> (memories, storage bytes)


class StoreCollector(Collector):
    """Gauges read at scrape time (storage size, record counts, per-tenant usage)."""

    def __init__(self, read: Callable[[], StoreReading]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        reading = self._read()
        yield GaugeMetricFamily(
            "maia_storage_size_bytes", "Database size on disk.", value=reading.storage_bytes
        )
        yield GaugeMetricFamily(
            "maia_memories", "Memories stored (default tenant).", value=reading.memories
        )
        yield GaugeMetricFamily(
            "maia_namespaces", "Namespace records (default tenant).", value=reading.namespaces
        )
        yield GaugeMetricFamily(
            "maia_vector_index_size", "Vectors in the search index.", value=reading.indexed_vectors
        )
        memories = GaugeMetricFamily(
            "maia_tenant_memories", "Memories stored, by tenant.", labels=["tenant"]
        )
        storage = GaugeMetricFamily(
            "maia_tenant_storage_bytes",
            "Bytes of content, metadata and tags stored, by tenant.",
            labels=["tenant"],
        )
        for tenant, (count, size) in sorted(reading.tenants.items()):
            memories.add_metric([tenant], count)
            storage.add_metric([tenant], size)
        yield memories
        yield storage


def _route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path.replace(":path}", "}") if isinstance(path, str) else "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        started = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, record_status)
        finally:
            self.metrics.in_flight.dec()
            method, path = scope["method"], _route_label(scope)
            self.metrics.requests.labels(method, path, f"{status[0] // 100}xx").inc()
            self.metrics.duration.labels(method, path).observe(time.perf_counter() - started)
