"""The FastAPI application factory: routers, error mapping and middleware in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import anyio
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.routing import Route
from starlette.types import Scope

from maia._version import __version__
from maia.api.auth import Authenticator, AuthMiddleware
from maia.api.errors import install_error_handlers, render_error
from maia.api.guards import RateLimitMiddleware
from maia.api.metrics import HttpMetrics, MetricsMiddleware, StoreCollector, StoreReading
from maia.api.middleware import RequestContextMiddleware
from maia.api.openapi import (
    ERROR_RESPONSES,
    PROXY_ERROR_RESPONSES,
    PUBLIC_ERROR_RESPONSES,
    without_validation_responses,
)
from maia.api.routes import (
    admin,
    context,
    export,
    health,
    inference,
    memories,
    namespaces,
    proxy,
    relations,
    stats,
)
from maia.api.tracing import install_tracing
from maia.errors import MaiaError, RateLimited
from maia.inference import InferenceRouter
from maia.mcp import McpHttpEndpoint, create_mcp_server
from maia.mcp.http import MCP_PATH
from maia.security.keys import redact_keys
from maia.security.limits import RequestLimiter, storage_uri
from maia.security.principal import Principal
from maia.service import Maia

log = logging.getLogger(__name__)


async def _every(interval: float, job: Callable[[], object], name: str) -> None:
    while True:
        try:
            await anyio.to_thread.run_sync(job)
        except Exception:
            log.exception("%s failed", name)
        await asyncio.sleep(interval)


def create_app(maia: Maia) -> FastAPI:
    """A REST app serving ``maia``. The caller owns ``maia`` and closes it."""
    settings = maia.settings
    # Upstream LLM providers (maia.inference); connections open on first use.
    inference_router = InferenceRouter.from_settings(settings)
    # MCP over streamable HTTP at /mcp: same process, same Maia, same middleware.
    mcp_endpoint = McpHttpEndpoint(create_mcp_server(maia, inference_router), settings)
    stop_tracing: Callable[[], None] | None = None  # set below when tracing is on

    def observe(operation: str, seconds: float) -> None:
        app.state.metrics.operations.labels(operation).observe(seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        jobs = [
            asyncio.create_task(
                _every(
                    settings.retention_sweep_seconds,
                    maia.purge_expired_all_tenants,
                    "retention sweep",
                )
            ),
            # Keys' last-used times: gathered in memory, written once a minute.
            asyncio.create_task(_every(60.0, maia.flush_key_usage, "key usage flush")),
        ]
        try:
            await inference_router.start()
            with maia.timings.listening(observe):
                async with mcp_endpoint.lifespan():
                    yield
        finally:
            await inference_router.aclose()
            for job in jobs:
                job.cancel()
            for job in jobs:
                with contextlib.suppress(asyncio.CancelledError):
                    await job
            if stop_tracing is not None:
                await anyio.to_thread.run_sync(stop_tracing)  # sends the last spans
            limiter.close()  # the rate-limit storage's connections, if any

    app = FastAPI(
        title="MAIA",
        version=__version__,
        summary="Memory for LLM applications and agents",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry spans would start as soon as the process has a
        # tracer provider, with the api_key query parameter in them: MAIA traces
        # through maia.api.tracing instead, only when asked, without secrets.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.maia = maia
    app.state.inference = inference_router

    registry = CollectorRegistry()
    metrics = HttpMetrics(registry)

    def store_gauges() -> StoreReading:
        counts = maia.stats()
        return StoreReading(
            storage_bytes=counts.storage_size_bytes,
            memories=counts.total_memories,
            namespaces=counts.total_namespaces,
            indexed_vectors=len(maia.engine.index),
            tenants=maia.usage_by_tenant(),
        )

    registry.register(StoreCollector(store_gauges))
    app.state.metrics = metrics

    install_error_handlers(app)
    # Every route documents the error envelope under the statuses it may answer with.
    app.include_router(health.router, responses=PUBLIC_ERROR_RESPONSES)
    for module in (memories, relations, namespaces, context, stats, inference, admin):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(export.router, responses=ERROR_RESPONSES)  # scope: admin (GET /v1/export)
    app.include_router(proxy.router, responses=PROXY_ERROR_RESPONSES)
    without_validation_responses(app)
    app.router.routes.append(Route(MCP_PATH, endpoint=mcp_endpoint, include_in_schema=False))

    auth = Authenticator(maia)
    app.state.auth = auth
    database_url = settings.database_url.get_secret_value() if settings.database_url else None
    limiter = RequestLimiter(
        storage_uri(settings.rate_limit_storage, database_url),
        ip_rps=settings.rate_limit_rps,
        key_per_minute=settings.key_rate_limit_per_minute,
    )

    def auth_failed(scope: Scope, exc: MaiaError) -> None:
        metrics.auth_failures.labels(code=exc.code).inc()
        if maia.audit is not None and not isinstance(exc, RateLimited):
            client = scope.get("client")
            maia.audit.record(
                "auth.failure",
                tenant_id="",
                actor="",
                outcome="failure",
                reason=exc.message,
                path=redact_keys(scope["path"]),  # a key may sit in the path
                client=client[0] if client else None,
            )

    def auth_passed(principal: Principal) -> None:
        metrics.tenant_requests.labels(tenant=principal.tenant_id).inc()
        maia.note_request(principal.tenant_id, principal.key_hash)

    # Added innermost first: a request meets RequestContext, Metrics, RateLimit, Auth.
    app.add_middleware(
        AuthMiddleware,
        auth=auth,
        limiter=limiter,
        render=render_error,
        on_failure=auth_failed,
        on_success=auth_passed,
    )
    app.add_middleware(RateLimitMiddleware, limiter=limiter, on_reject=metrics.rate_limited.inc)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(
        RequestContextMiddleware,
        cors_origins=settings.cors_origins,
        max_request_bytes=settings.max_request_bytes,
    )
    stop_tracing = install_tracing(app, settings)  # outermost: sees every request
    return app
