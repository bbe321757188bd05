"""The FastAPI application factory: routers, error mapping and middleware in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.routing import Route

from maia._version import __version__
from maia.api.errors import install_error_handlers
from maia.api.guards import ApiKeyMiddleware, RateLimitMiddleware
from maia.api.metrics import HttpMetrics, MetricsMiddleware, StoreCollector
from maia.api.middleware import RequestContextMiddleware
from maia.api.routes import (
    context,
    health,
    inference,
    memories,
    namespaces,
    relations,
    stats,
)
from maia.mcp import McpHttpEndpoint, create_mcp_server
from maia.mcp.http import MCP_PATH
from maia.service import Maia

log = logging.getLogger(__name__)


async def _retention_sweeper(maia: Maia, interval: float) -> None:
    while True:
        try:
            await anyio.to_thread.run_sync(maia.purge_expired)
        except Exception:
            log.exception("retention sweep failed")
        await asyncio.sleep(interval)


def create_app(maia: Maia) -> FastAPI:
    """A REST app serving ``maia``. The caller owns ``maia`` and closes it."""
    settings = maia.settings
    # MCP over streamable HTTP at /mcp: same process, same Maia, same middleware.
    mcp_endpoint = McpHttpEndpoint(create_mcp_server(maia), settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_retention_sweeper(maia, settings.retention_sweep_seconds))
        try:
            async with mcp_endpoint.lifespan():
                yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    app = FastAPI(
        title="MAIA",
        version=__version__,
        summary="Memory for LLM applications and agents",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.maia = maia

    registry = CollectorRegistry()
    metrics = HttpMetrics(registry)

    def store_gauges() -> tuple[int, int, int]:
        counts = maia.stats()
        return counts.storage_size_bytes, counts.total_memories, counts.total_namespaces

    registry.register(StoreCollector(store_gauges))
    app.state.metrics = metrics

    install_error_handlers(app)
    for module in (health, memories, relations, namespaces, context, stats, inference):
        app.include_router(module.router)
    app.router.routes.append(Route(MCP_PATH, endpoint=mcp_endpoint, include_in_schema=False))

    # Added innermost first: a request meets RequestContext, Metrics, RateLimit, ApiKey.
    if settings.api_key is not None and settings.api_key.get_secret_value():
        app.add_middleware(
            ApiKeyMiddleware,
            api_key=settings.api_key.get_secret_value(),
            allow_query_param=settings.api_key_query_param,
        )
    app.add_middleware(
        RateLimitMiddleware, rps=settings.rate_limit_rps, on_reject=metrics.rate_limited.inc
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(
        RequestContextMiddleware,
        cors_origins=settings.cors_origins,
        max_request_bytes=settings.max_request_bytes,
    )
    return app
