"""Inference status routes. No inference providers are configured in this version,
so they report "disabled" exactly as the contract describes for that state."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from maia.api.errors import envelope
from maia.api.responses import json_response

router = APIRouter(prefix="/v1/inference", tags=["inference"])


@router.get("/health", summary="Inference provider health")
def inference_health() -> Response:
    return json_response({"enabled": False})


@router.post("/health/{name}", summary="Force a provider health check")
def check_provider(name: str) -> Response:
    return json_response(envelope("inference not enabled", "INFERENCE_DISABLED"), status_code=404)


@router.get("/cache/stats", summary="Response cache statistics")
def cache_stats() -> Response:
    return json_response({"enabled": False, "hits": 0, "misses": 0, "evictions": 0, "size": 0})


@router.post("/cache/clear", summary="Clear the response cache")
def cache_clear() -> Response:
    return json_response(envelope("cache not enabled", "CACHE_DISABLED"), status_code=404)
