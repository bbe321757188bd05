"""Liveness, readiness and Prometheus metrics (no authentication)."""

from __future__ import annotations

from fastapi import Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import PlainTextResponse, Response

from maia.api.deps import MaiaDep
from maia.api.openapi import error_responses
from maia.api.responses import json_response
from maia.api.strict import api_router
from maia.errors import MaiaError

router = api_router(tags=["health"])


@router.get("/health", summary="Liveness")
def health() -> Response:
    return json_response({"status": "healthy", "service": "maia"})


@router.get("/ready", summary="Readiness (the store answers)", responses=error_responses(503))
def ready(maia: MaiaDep) -> Response:
    try:
        maia.check_ready()
    except MaiaError as exc:
        return json_response({"status": "not ready", "error": str(exc)}, status_code=503)
    return json_response({"status": "ready"})


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
