"""OpenTelemetry tracing of the REST API: off by default, one server span per request
named after its route, no secrets in spans, and real OTLP/HTTP export to a local
receiver."""

from __future__ import annotations

import gzip
import http.server
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from maia import Maia, Settings
from maia.api import create_app
from maia.api.tracing import TracingMiddleware, install_tracing, query_for_spans, traces_url
from maia.errors import InvalidInput
from tests.conftest import LiveServer

KEY = "trace-secret-key-4f1c9b"


@pytest.fixture
def keyed_maia(make_settings: Callable[..., Settings]) -> Iterator[Maia]:
    with Maia.open(settings=make_settings(api_key=KEY, api_key_query_param=True)) as maia:
        yield maia


@dataclass
class Traced:
    client: TestClient
    spans: Callable[[], list[ReadableSpan]]
    server_spans: Callable[[], list[ReadableSpan]]


@pytest.fixture
def traced(keyed_maia: Maia) -> Iterator[Traced]:
    """The real app with tracing installed, spans kept in memory."""
    exporter = InMemorySpanExporter()
    app = create_app(keyed_maia)
    stop = install_tracing(
        app, keyed_maia.settings.model_copy(update={"tracing": True}), exporter=exporter
    )
    assert stop is not None

    def spans() -> list[ReadableSpan]:
        stop()  # flushes the batch processor
        return list(exporter.get_finished_spans())

    def server_spans() -> list[ReadableSpan]:
        # The engine's spans may come along (when this provider is the global one).
        return [s for s in spans() if s.kind is trace.SpanKind.SERVER]

    with TestClient(app, base_url="http://127.0.0.1", headers={"X-API-Key": KEY}) as client:
        yield Traced(client, spans, server_spans)


def status_of(span: ReadableSpan) -> object:
    attrs = span.attributes or {}
    return attrs.get("http.response.status_code", attrs.get("http.status_code"))


def all_attribute_text(spans: list[ReadableSpan]) -> str:
    parts = [span.name for span in spans]
    for span in spans:
        for key, value in (span.attributes or {}).items():
            parts.append(f"{key}={value}")
        for event in span.events:
            parts.extend(f"{k}={v}" for k, v in (event.attributes or {}).items())
    return "\n".join(parts)


def test_tracing_is_off_by_default(maia: Maia) -> None:
    assert maia.settings.tracing is False
    app = create_app(maia)
    assert install_tracing(app, maia.settings) is None
    assert all(m.cls is not TracingMiddleware for m in app.user_middleware)


def test_a_request_gives_a_server_span_named_after_its_route(traced: Traced) -> None:
    assert traced.client.get("/v1/memories/no-such-id").status_code == 404
    created = traced.client.post("/v1/memories", json={"namespace": "t", "content": "tea"})
    assert created.status_code == 201

    spans = traced.server_spans()
    assert [(s.name, status_of(s)) for s in spans] == [
        ("GET /v1/memories/{memory_id}", 404),
        ("POST /v1/memories", 201),
    ]
    assert spans[0].attributes is not None
    assert spans[0].attributes["http.route"] == "/v1/memories/{memory_id}"
    resource = spans[0].resource.attributes
    assert resource["service.name"] == "maia"


def test_probes_are_not_traced_and_unknown_paths_keep_ids_out_of_names(
    traced: Traced,
) -> None:
    for path in ("/health", "/ready", "/metrics"):
        assert traced.client.get(path).status_code == 200
    assert traced.client.get("/v1/no-such-route/123").status_code == 404
    assert [(s.name, status_of(s)) for s in traced.server_spans()] == [("GET", 404)]


def test_no_api_key_in_any_span(traced: Traced, monkeypatch: pytest.MonkeyPatch) -> None:
    traced.client.get("/v1/stats")
    traced.client.get("/v1/stats", headers={"X-API-Key": "", "Authorization": f"Bearer {KEY}"})
    traced.client.get(f"/v1/stats?api_key={KEY}", headers={"X-API-Key": ""})
    traced.client.get("/v1/stats", headers={"X-API-Key": f"{KEY}-wrong"})  # a 401
    traced.client.delete(f"/admin/apikeys/{KEY}", headers={"X-API-Key": "not-a-key"})  # a 401
    spans = traced.spans()
    statuses = [status_of(s) for s in spans if s.kind is trace.SpanKind.SERVER]
    assert statuses == [200] * 3 + [401] * 2
    text = all_attribute_text(spans)
    assert KEY not in text
    assert "api_key=REDACTED" in text  # the parameter is still visible, its value is not
    assert not [k for s in spans for k in (s.attributes or {}) if "header" in k]


def test_headers_captured_on_request_still_mask_keys(
    keyed_maia: Maia, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An operator may ask the instrumentation to capture every request header.
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", ".*")
    exporter = InMemorySpanExporter()
    app = create_app(keyed_maia)
    settings = keyed_maia.settings.model_copy(update={"tracing": True})
    stop = install_tracing(app, settings, exporter=exporter)
    assert stop is not None
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.get("/v1/stats", headers={"X-API-Key": KEY, "X-Request-ID": "r-1"})
        client.get("/v1/stats", headers={"Authorization": f"Bearer {KEY}"})
    stop()
    spans = exporter.get_finished_spans()
    text = all_attribute_text(list(spans))
    assert "http.request.header.x_request_id=('r-1',)" in text  # headers are captured…
    assert KEY not in text  # …but never the key


def test_retrieval_spans_are_children_of_the_request(traced: Traced) -> None:
    # The engine's spans use the global provider: give it one that keeps spans in
    # memory (install_tracing leaves a global provider that is already set alone).
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        traced.client.post("/v1/memories", json={"namespace": "t", "content": "green tea"})
        found = traced.client.post("/v1/memories/search", json={"query": "tea", "namespace": "t"})
        assert found.status_code == 200
        servers = {s.name: s for s in traced.server_spans()}
        inner = exporter.get_finished_spans()
    finally:
        exporter.shutdown()
    search = servers["POST /v1/memories/search"].context
    by_name = {s.name: s for s in inner if s.context.trace_id == search.trace_id}
    assert by_name["maia.search"].parent is not None
    assert by_name["maia.search"].parent.span_id == search.span_id
    embed = [s for s in inner if s.name == "maia.embed"]
    assert {s.context.trace_id for s in embed} == {
        servers["POST /v1/memories"].context.trace_id,
        search.trace_id,
    }


def test_missing_packages_name_the_extra(maia: Maia, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    settings = maia.settings.model_copy(update={"tracing": True})
    with pytest.raises(InvalidInput, match=r"pip install 'maia\[tracing\]'"):
        install_tracing(create_app(maia), settings)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"", b""),
        (b"limit=5&offset=0", b"limit=5&offset=0"),
        (b"api_key=s3cret&limit=5", b"api_key=REDACTED&limit=5"),
        (b"api%5Fkey=s3cret", b"api_key=REDACTED"),  # the server decodes the name too
        (b"xapi_key=1", b"xapi_key=1"),
        (b"tag=\xff\xfe", b"tag=%FF%FE"),  # raw bytes: the instrumentation wants UTF-8
    ],
)
def test_query_strings_in_spans(raw: bytes, shown: bytes) -> None:
    assert query_for_spans(raw) == shown


def test_a_raw_non_utf8_query_string_is_served(traced: Traced) -> None:
    async def call() -> int:
        app = traced.client.app
        status = 0
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/v1/memories",
            "raw_path": b"/v1/memories",
            "query_string": b"tag=\xff",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"x-api-key", KEY.encode())],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 80),
        }

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])  # type: ignore[call-overload]

        await app(scope, receive, send)
        return status

    assert traced.client.portal is not None
    assert traced.client.portal.call(call) == 200
    assert [status_of(s) for s in traced.server_spans()] == [200]


def test_endpoint_is_a_base_url_or_the_traces_url() -> None:
    assert traces_url("http://127.0.0.1:4318") == "http://127.0.0.1:4318/v1/traces"
    assert traces_url("http://127.0.0.1:4318/") == "http://127.0.0.1:4318/v1/traces"
    assert traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"


# -- a real OTLP/HTTP receiver -------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    posts: list[tuple[str, str, bytes]] = field(default_factory=list)


@pytest.fixture
def otlp_receiver() -> Iterator[Receiver]:
    """A tiny OTLP/HTTP collector on 127.0.0.1 that keeps what it is sent."""
    posts: list[tuple[str, str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            posts.append((self.path, self.headers.get("Content-Type", ""), body))
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}", posts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_spans_reach_an_otlp_http_receiver_at_shutdown(
    serve: Callable[..., LiveServer], otlp_receiver: Receiver
) -> None:
    import httpx

    server = serve(tracing=True, otlp_endpoint=otlp_receiver.url, tracing_service_name="maia-t")
    with httpx.Client(base_url=server.url, timeout=30) as http_client:
        assert http_client.get("/v1/stats").status_code == 200
    server.stop()  # the app's lifespan flushes the spans on the way out

    assert otlp_receiver.posts, "the receiver got nothing"
    path, content_type, body = otlp_receiver.posts[0]
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "maia-t"
    names = [s.name for scope in resource_spans.scope_spans for s in scope.spans]
    assert names == ["GET /v1/stats"]
