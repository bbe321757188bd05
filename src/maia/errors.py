"""The one error hierarchy of MAIA.

Every error carries the contract's machine ``code``; each transport maps the
hierarchy once (REST: status + ``{error, code, details}``, CLI: stderr + exit code).
"""

from __future__ import annotations

from typing import Any


class MaiaError(Exception):
    """Base of every error MAIA raises on purpose."""

    code: str = "INTERNAL_ERROR"

    def __init__(self, message: str, *, details: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.extra = extra

    def __str__(self) -> str:
        return self.message


class NotFound(MaiaError):
    """A memory, namespace or other record does not exist (for this tenant)."""

    code = "NOT_FOUND"


class InvalidInput(MaiaError):
    """A value breaks a rule; the message names the field and the rule."""

    code = "INVALID_INPUT"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        details: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message, details=details, **extra)
        self.field = field


class PayloadTooLarge(InvalidInput):
    """The request body is larger than the configured limit."""

    code = "PAYLOAD_TOO_LARGE"


class AlreadyExists(MaiaError):
    """A unique name is taken."""

    code = "ALREADY_EXISTS"


class Conflict(MaiaError):
    """The record changed under the caller (optimistic concurrency)."""

    code = "CONFLICT"


class Unauthorized(MaiaError):
    """No or bad credentials."""

    code = "UNAUTHORIZED"


class InvalidTenant(Unauthorized):
    """``X-MAIA-Tenant-ID`` names no tenant (the contract's ``{"error":"invalid tenant"}``)."""

    code = "INVALID_TENANT"


class Forbidden(MaiaError):
    """Credentials are fine but do not allow this."""

    code = "FORBIDDEN"


class InsufficientScope(Forbidden):
    """The key lacks every scope the operation accepts."""

    code = "INSUFFICIENT_SCOPE"

    def __init__(self, *, required: list[str], provided: list[str]) -> None:
        super().__init__(
            "insufficient scope",
            details=f"requires one of {', '.join(required)}",
            required=required,
            provided=provided,
        )


class TenantInactive(Forbidden):
    """The tenant is suspended or being deleted: only admin calls are served."""

    code = "TENANT_INACTIVE"


class QuotaExceeded(MaiaError):
    """A configured limit (namespace ``max_memories``, tenant quota) would be passed."""

    code = "QUOTA_EXCEEDED"

    def __init__(self, message: str, *, limit: int, current: int, details: str | None = None):
        super().__init__(message, details=details, limit=limit, current=current)
        self.limit = limit
        self.current = current


class RateLimited(MaiaError):
    """Too many requests; ``retry_after`` seconds until the next one is allowed."""

    code = "RATE_LIMITED"

    def __init__(
        self, message: str, *, retry_after: float, details: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message, details=details, **extra)
        self.retry_after = retry_after


class Unavailable(MaiaError):
    """A dependency (database, model, upstream) cannot serve the request now."""

    code = "UNAVAILABLE"


__all__ = [
    "AlreadyExists",
    "Conflict",
    "Forbidden",
    "InsufficientScope",
    "InvalidInput",
    "InvalidTenant",
    "MaiaError",
    "NotFound",
    "PayloadTooLarge",
    "QuotaExceeded",
    "RateLimited",
    "TenantInactive",
    "Unauthorized",
    "Unavailable",
]
