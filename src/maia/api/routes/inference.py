"""Inference status routes (contract 5.6): provider health, forced checks, the response
cache. With no provider but the built-in mock configured, inference reports "disabled"."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from maia.api.auth import requires
from maia.api.errors import envelope
from maia.api.responses import json_response
from maia.api.strict import api_router
from maia.inference import HealthCheckFailed, InferenceRouter, UnknownProvider
from maia.models import Scope

router = api_router(prefix="/v1/inference", tags=["inference"])


def _router(request: Request) -> InferenceRouter:
    inference: InferenceRouter = request.app.state.inference
    return inference


@router.get(
    "/health",
    summary="Inference provider health",
    dependencies=[requires(Scope.INFERENCE, Scope.STATS)],
)
async def inference_health(request: Request) -> Response:
    inference = _router(request)
    if not inference.enabled:
        return json_response({"enabled": False})
    return json_response({"enabled": True, "providers": inference.health()})


@router.post(
    "/health/{name}",
    summary="Force a provider health check",
    dependencies=[requires(Scope.INFERENCE)],
)
async def check_provider(name: str, request: Request) -> Response:
    inference = _router(request)
    if not inference.enabled:
        return json_response(
            envelope("inference not enabled", "INFERENCE_DISABLED"), status_code=404
        )
    try:
        health = await inference.check_provider(name)
    except UnknownProvider:
        return json_response(envelope("provider not found", "PROVIDER_NOT_FOUND"), status_code=404)
    except HealthCheckFailed as exc:  # recorded in the provider's health as well
        return json_response(envelope(exc.message, exc.code, exc.details), status_code=500)
    return json_response(health)


@router.get(
    "/cache/stats",
    summary="Response cache statistics",
    dependencies=[requires(Scope.INFERENCE, Scope.STATS)],
)
async def cache_stats(request: Request) -> Response:
    return json_response(_router(request).cache_stats())


@router.post(
    "/cache/clear", summary="Clear the response cache", dependencies=[requires(Scope.INFERENCE)]
)
async def cache_clear(request: Request) -> Response:
    inference = _router(request)
    if not inference.cache_stats()["enabled"]:
        return json_response(envelope("cache not enabled", "CACHE_DISABLED"), status_code=404)
    inference.clear_cache()
    return json_response({"message": "cache cleared"})
