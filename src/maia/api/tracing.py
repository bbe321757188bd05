"""Optional OpenTelemetry traces of the REST API, off unless ``tracing`` is on.

One server span per request, named after its route (``GET /v1/memories/{memory_id}``),
with the status code, exported in batches over OTLP/HTTP. The packages come with the
``tracing`` extra and are imported only here, only when tracing is on.

What a span never holds: request or response headers (the instrumentation captures
none unless ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST`` asks, and even
then the key headers are masked) and the ``api_key`` query parameter's value.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote_from_bytes, urlencode

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maia._version import __version__
from maia.errors import InvalidInput
from maia.security.keys import redact_keys
from maia.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

# Probes and scrapes: frequent, and nothing to learn from their traces.
UNTRACED_PATHS = frozenset({"/health", "/ready", "/metrics"})
# Masked if an operator asks the instrumentation to capture headers.
SECRET_HEADERS = ("x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie")
TRACES_PATH = "/v1/traces"
EXTRA_HINT = "pip install 'maia[tracing]'"
_ORIGINAL_SCOPE = "maia.untraced_scope"


def traces_url(endpoint: str) -> str:
    """``endpoint`` as a base URL (like ``OTEL_EXPORTER_OTLP_ENDPOINT``), or already the
    traces URL."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def route_template(scope: Scope) -> str | None:
    """The matched route's path (``/v1/namespaces/{ns}``), once routing has run."""
    path = getattr(scope.get("route"), "path", None)
    return path.replace(":path}", "}") if isinstance(path, str) else None


def query_for_spans(query: bytes) -> bytes:
    """The query string as spans show it: ASCII (the instrumentation decodes it as UTF-8,
    and a raw non-UTF-8 byte would fail the request) and the ``api_key`` value redacted."""
    text = quote_from_bytes(query, safe="=&+%/;:,?@!$'()*")
    pairs = parse_qsl(text, keep_blank_values=True)  # decoded as the server reads the key
    if all(k != "api_key" for k, _ in pairs):
        return text.encode()
    return urlencode([(k, "REDACTED" if k == "api_key" else v) for k, v in pairs]).encode()


class _NameAfterRoute:
    """Inside the server span: runs the app on the real scope and, when the response
    starts (routing is done by then; the span ends with the body), names the span after
    the route the request matched: the path itself would make one name per id."""

    def __init__(self, app: ASGIApp) -> None:
        from opentelemetry import trace

        self.app = app
        self.current_span = trace.get_current_span

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        original: Scope = scope[_ORIGINAL_SCOPE]
        span = self.current_span()

        async def send_naming_the_span(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = route_template(original)
                if route is not None:
                    span.update_name(f"{original['method']} {route}")
                    span.set_attribute("http.route", route)
            await send(message)

        await self.app(original, receive, send_naming_the_span)


class TracingMiddleware:
    """OpenTelemetry's ASGI middleware, seeing a copy of the scope without secrets."""

    def __init__(self, app: ASGIApp, *, tracer_provider: TracerProvider) -> None:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        env_masked = os.environ.get("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS")
        self.app = app
        self.traced = OpenTelemetryMiddleware(
            _NameAfterRoute(app),
            tracer_provider=tracer_provider,
            # Named after the method until the route is known (no ids in span names).
            default_span_details=lambda scope: (scope.get("method", "HTTP"), {}),
            exclude_spans=["receive", "send"],
            http_capture_headers_sanitize_fields=[
                *SECRET_HEADERS,
                *(f.strip() for f in (env_masked or "").split(",") if f.strip()),
            ],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        seen = {**scope, _ORIGINAL_SCOPE: scope}
        seen["query_string"] = query_for_spans(scope.get("query_string", b""))
        # A key in the path (DELETE /admin/apikeys/{key}) is redacted, as in the access log.
        seen["path"] = redact_keys(scope["path"])
        if raw_path := scope.get("raw_path"):
            seen["raw_path"] = redact_keys(raw_path.decode("latin-1")).encode("latin-1")
        await self.traced(seen, receive, send)


def install_tracing(
    app: FastAPI, settings: Settings, *, exporter: SpanExporter | None = None
) -> Callable[[], None] | None:
    """Trace ``app``'s requests when ``settings.tracing`` is on; call what it returns at
    shutdown (it flushes the spans not yet sent). Returns None, and installs nothing,
    when tracing is off. ``exporter`` replaces the OTLP/HTTP exporter (tests)."""
    if not settings.tracing:
        return None
    try:
        import opentelemetry.instrumentation.asgi  # noqa: F401 - TracingMiddleware's, checked now
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise InvalidInput(
            f"invalid settings: tracing needs OpenTelemetry ({exc.name} is missing): {EXTRA_HINT}",
            field="tracing",
        ) from exc

    if exporter is None:
        # Without otlp_endpoint the exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT.
        endpoint = traces_url(settings.otlp_endpoint) if settings.otlp_endpoint else None
        exporter = OTLPSpanExporter(endpoint=endpoint)
    resource = Resource.create(
        {"service.name": settings.tracing_service_name, "service.version": __version__}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    # The retrieval engine's spans use the global provider: this one, unless the host
    # process configured OpenTelemetry itself.
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    app.add_middleware(TracingMiddleware, tracer_provider=provider)

    def shutdown() -> None:
        provider.shutdown()  # flushes the batch, then stops the exporter

    return shutdown
