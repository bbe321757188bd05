"""What the OpenAPI document says about errors: the envelope, on every route that can
answer with it, and never FastAPI's default ``422`` (MAIA answers validation errors
with ``400 INVALID_INPUT``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema


def _no_null_defaults(schema: dict[str, Any]) -> None:
    # Optional keys are absent from the wire, never null: no ``"default": null`` either.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class ErrorBody(BaseModel):
    """The error envelope. Rejections made before a route runs (401, and 429 from the
    rate limit) carry `message` instead of `code` and `details`."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_no_null_defaults)

    error: str = Field(description="Human-readable message")
    code: str | SkipJsonSchema[None] = Field(None, description="Machine code: INVALID_INPUT, …")
    details: str | SkipJsonSchema[None] = Field(None, description="More text, when there is any")
    message: str | SkipJsonSchema[None] = Field(
        None, description="Authentication and rate-limit rejections: the reason"
    )
    limit: int | SkipJsonSchema[None] = Field(None, description="QUOTA_EXCEEDED: the limit")
    current: int | SkipJsonSchema[None] = Field(None, description="QUOTA_EXCEEDED: the count")
    required: list[str] | SkipJsonSchema[None] = Field(
        None, description="INSUFFICIENT_SCOPE: the scopes the route accepts"
    )
    provided: list[str] | SkipJsonSchema[None] = Field(
        None, description="INSUFFICIENT_SCOPE: the scopes the key holds"
    )


_DESCRIPTIONS = {
    400: "INVALID_INPUT: a malformed body or parameter, or a value that breaks a rule",
    401: "The API key is missing or not valid",
    403: "FORBIDDEN, INSUFFICIENT_SCOPE or TENANT_INACTIVE",
    404: "NOT_FOUND: an unknown record",
    409: "ALREADY_EXISTS or CONFLICT",
    413: "PAYLOAD_TOO_LARGE: the body is larger than max_request_bytes",
    429: "Rate limit (RATE_LIMITED) or QUOTA_EXCEEDED",
    503: "UNAVAILABLE: the store or the embedder cannot serve requests now",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router: the envelope under each status."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses
    }


class OpenAIErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: str
    type: str
    code: str | int | None = None


class ProxyErrorBody(ErrorBody):
    """The proxy answers in OpenAI's error shape (``{"error": {"message", "type"}}``);
    authentication, scope and rate-limit rejections keep MAIA's envelope."""

    error: str | OpenAIErrorDetail = Field(description="OpenAI's error object, or MAIA's text")  # type: ignore[assignment]


PROXY_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProxyErrorBody, "description": text}
    for status, text in {
        400: "invalid_request_error: a malformed body",
        401: "The API key is missing or not valid",
        403: "Insufficient scope, a namespace outside the key's grants, or a suspended tenant",
        404: "model_not_found: no provider serves the model",
        413: "PAYLOAD_TOO_LARGE: the body is larger than max_request_bytes",
        429: "Rate limit, quota, or the upstream's own 429",
        502: "backend_error: no provider could be reached",
        503: "UNAVAILABLE",
        504: "timeout: the provider did not answer in time",
    }.items()
}

# Every authenticated route: any of these may come from the middleware or the service.
ERROR_RESPONSES = error_responses(400, 401, 403, 404, 409, 413, 429, 503)
# Health, readiness and metrics skip authentication; the per-IP rate limit still applies.
PUBLIC_ERROR_RESPONSES = error_responses(429)


def without_validation_responses(app: FastAPI) -> None:
    """Drop the ``422`` FastAPI documents for routes with parameters: MAIA never sends it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI caches it; the edits below are idempotent
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        components = schema.get("components", {}).get("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
