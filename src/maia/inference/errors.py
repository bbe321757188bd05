"""Errors of the inference layer. Each carries the HTTP status and the OpenAI-shaped
error body (``{"error": {"message", "type", "param"?, "code"?}}``) a proxy answers with,
so the one mapping to the wire is ``(exc.status, exc.body)``."""

from __future__ import annotations

from typing import Any

from maia.errors import MaiaError

# OpenAI's error ``type`` for an HTTP status, for bodies MAIA builds or normalises.
_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    408: "timeout",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_type_for(status: int) -> str:
    """OpenAI's usual error ``type`` for ``status``."""
    if status in _TYPE_BY_STATUS:
        return _TYPE_BY_STATUS[status]
    return "server_error" if status >= 500 else "invalid_request_error"


def openai_error(
    message: str, error_type: str, *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """``{"error": {...}}`` in OpenAI's shape."""
    error: dict[str, Any] = {"message": message, "type": error_type}
    if param is not None:
        error["param"] = param
    if code is not None:
        error["code"] = code
    return {"error": error}


class UpstreamError(MaiaError):
    """The upstream answered with ``status >= 400`` (or MAIA refused the request on its
    behalf, e.g. the provider's rate limit: 429). ``body`` is in OpenAI's error shape."""

    code = "UPSTREAM_ERROR"

    def __init__(
        self,
        status: int,
        body: dict[str, Any],
        *,
        provider: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        super().__init__(str(message or f"upstream answered {status}"))
        self.status = status
        self.body = body
        self.provider = provider
        self.retry_after = retry_after


class UpstreamTimeout(MaiaError):
    """The upstream did not answer in time (a proxy answers 504, type ``timeout``)."""

    code = "UPSTREAM_TIMEOUT"
    status = 504

    @property
    def body(self) -> dict[str, Any]:
        return openai_error(self.message, "timeout")


class UpstreamUnavailable(MaiaError):
    """The connection failed, or no healthy provider serves the model (a proxy answers
    502, type ``backend_error``)."""

    code = "UPSTREAM_UNAVAILABLE"
    status = 502

    @property
    def body(self) -> dict[str, Any]:
        return openai_error(self.message, "backend_error")


class UnknownModel(MaiaError):
    """No provider serves the model (404, type ``invalid_request_error``, code
    ``model_not_found``)."""

    code = "MODEL_NOT_FOUND"
    status = 404

    @property
    def body(self) -> dict[str, Any]:
        return openai_error(
            self.message, "invalid_request_error", code="model_not_found", param="model"
        )


class UnknownProvider(UnknownModel):
    """A provider named explicitly (``provider=``, ``X-MAIA-Inference-Provider``, a
    forced health check) is not configured."""

    code = "PROVIDER_NOT_FOUND"

    @property
    def body(self) -> dict[str, Any]:
        return openai_error(self.message, "invalid_request_error", code="provider_not_found")


class HealthCheckFailed(MaiaError):
    """A forced health check of a provider failed (the failure is recorded too)."""

    code = "HEALTH_CHECK_FAILED"


__all__ = [
    "HealthCheckFailed",
    "UnknownModel",
    "UnknownProvider",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "error_type_for",
    "openai_error",
]
