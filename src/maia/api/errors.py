"""The one place where MAIA errors become HTTP responses (the contract's envelope)."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from maia.api.middleware import decode_path_param
from maia.api.responses import json_response
from maia.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InsufficientScope,
    InvalidInput,
    InvalidTenant,
    MaiaError,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    TenantInactive,
    Unauthorized,
    Unavailable,
)
from maia.models.common import UNPAIRED_SURROGATES

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[MaiaError], int] = {
    PayloadTooLarge: 413,
    NotFound: 404,
    InvalidInput: 400,
    AlreadyExists: 409,
    Conflict: 409,
    Unauthorized: 401,
    Forbidden: 403,
    QuotaExceeded: 429,
    RateLimited: 429,
    Unavailable: 503,
}

# Keys of an error's ``extra`` that go on the wire (quota numbers, scope lists).
_WIRE_EXTRAS = ("limit", "current", "required", "provided")

# Pydantic error types that mean "the body is not the right shape at all" (what a JSON
# decoder or a required-field check refuses: a missing or empty required field, a value
# of the wrong JSON type); the contract calls these "invalid request body". Anything
# else (an unknown enum value, a number out of range) names the field.
_SHAPE_ERRORS = {
    "missing",
    "json_invalid",
    "model_type",
    "model_attributes_type",
    "string_too_short",
    "string_unicode",
}


def _is_shape_error(error: dict[str, Any]) -> bool:
    """Whether a body error is one the contract reports as "invalid request body" (a
    query parameter of the wrong type still names its parameter)."""
    kind = str(error.get("type", ""))
    if kind in _SHAPE_ERRORS:
        return True
    in_body = tuple(error.get("loc", ()))[:1] in ((), ("body",))
    return in_body and kind.endswith(("_type", "_parsing"))


def status_for(exc: MaiaError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def render_error(exc: MaiaError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) of an error: the contract's envelope, and for auth errors
    the exact bodies of its section 2 (``message`` rather than ``details``)."""
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        headers.update(exc.extra.get("headers") or {})
    extra = {k: v for k, v in exc.extra.items() if k in _WIRE_EXTRAS}
    body: dict[str, Any]
    if isinstance(exc, RateLimited):
        body = {"error": "rate_limit_exceeded", "message": "too many requests, please slow down"}
    elif isinstance(exc, InsufficientScope):
        body = {"error": exc.message, "code": exc.code, **extra}
    elif isinstance(exc, TenantInactive | InvalidTenant):
        body = {"error": exc.message, "code": exc.code}
    elif isinstance(exc, Unauthorized):
        body = {"error": "unauthorized", "message": exc.message}
    elif isinstance(exc, Forbidden):
        body = {"error": "forbidden", "code": exc.code, "message": exc.message}
    else:
        body = envelope(exc.message, exc.code, exc.details, **extra)
    return status, body, headers


def envelope(
    error: str, code: str | None, details: str | None = None, **extra: Any
) -> dict[str, Any]:
    # A path parameter quoted in a message shows its encoded slashes as slashes again.
    body: dict[str, Any] = {"error": decode_path_param(error)}
    if code:
        body["code"] = code
    if details:
        body["details"] = decode_path_param(details)
    body.update(extra)
    return body


def _field_path(loc: tuple[Any, ...]) -> str:
    # Only the first item names where the value came from; a body field may itself be
    # called "query" (the search request's) and must stay in the path.
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return path


def describe_validation(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """(error, details) for a list of pydantic errors, each naming its field."""
    problems = []
    for err in errors:
        field = _field_path(tuple(err.get("loc", ())))
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "")
            message = f"malformed JSON: {reason}".rstrip(": ")
            field = ""
        problems.append(f"{field}: {message}" if field else message)
    first = errors[0] if errors else {}
    first_field = _field_path(tuple(first.get("loc", ())))
    if _is_shape_error(first) or not first_field:
        return "invalid request body", "; ".join(problems)
    reason = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"invalid {first_field}: {reason}", "; ".join(problems)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MaiaError)
    async def _maia_error(request: Request, exc: MaiaError) -> Response:
        if isinstance(exc, QuotaExceeded):
            metrics = getattr(request.app.state, "metrics", None)
            if metrics is not None:
                tenant = getattr(getattr(request.state, "maia_principal", None), "tenant_id", "")
                metrics.quota_rejections.labels(tenant=tenant, quota=exc.message).inc()
        status, body, headers = render_error(exc)
        return json_response(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        error, details = describe_validation(list(exc.errors()))
        return json_response(envelope(error, "INVALID_INPUT", details), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        cause = exc.__cause__
        if isinstance(cause, MaiaError):
            # FastAPI wraps errors raised while reading the body (e.g. the size limit
            # tripping on a streamed body) in a generic 400: report the real error.
            return await _maia_error(request, cause)
        if exc.status_code == 400:
            # A body FastAPI could not read or decode (e.g. invalid UTF-8).
            details = f"{exc.detail}: {cause}" if cause is not None else str(exc.detail)
            body = envelope("invalid request body", "INVALID_INPUT", details)
        elif exc.status_code == 404:
            body = envelope("not found", "NOT_FOUND", f"no route for {request.url.path}")
        elif exc.status_code == 405:
            body = envelope(
                "method not allowed",
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not supported on {request.url.path}",
            )
        else:
            body = envelope(str(exc.detail), None)
        return json_response(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(UnicodeEncodeError)
    async def _unencodable_text(request: Request, exc: UnicodeEncodeError) -> Response:
        # JSON may spell lone surrogates ("\ud800"); such text cannot be stored or sent
        # as UTF-8. Only request text can hold them, and writes roll back on the error.
        return json_response(
            envelope("invalid request body", "INVALID_INPUT", UNPAIRED_SURROGATES), status_code=400
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_response(envelope("internal server error", "INTERNAL_ERROR"), status_code=500)
