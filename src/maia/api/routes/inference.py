"""Inference status routes. No inference providers are configured in this version,
so they report "disabled" exactly as the contract describes for that state."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from maia.api.auth import requires
from maia.api.errors import envelope
from maia.api.responses import json_response
from maia.models import Scope

router = APIRouter(prefix="/v1/inference", tags=["inference"])


@router.get(
    "/health",
    summary="Inference provider health",
    dependencies=[requires(Scope.INFERENCE, Scope.STATS)],
)
def inference_health() -> Response:
    return json_response({"enabled": False})


@router.post(
    "/health/{name}",
    summary="Force a provider health check",
    dependencies=[requires(Scope.INFERENCE)],
)
def check_provider(name: str) -> Response:
    return json_response(envelope("inference not enabled", "INFERENCE_DISABLED"), status_code=404)


@router.get(
    "/cache/stats",
    summary="Response cache statistics",
    dependencies=[requires(Scope.INFERENCE, Scope.STATS)],
)
def cache_stats() -> Response:
    return json_response({"enabled": False, "hits": 0, "misses": 0, "evictions": 0, "size": 0})


@router.post(
    "/cache/clear", summary="Clear the response cache", dependencies=[requires(Scope.INFERENCE)]
)
def cache_clear() -> Response:
    return json_response(envelope("cache not enabled", "CACHE_DISABLED"), status_code=404)
