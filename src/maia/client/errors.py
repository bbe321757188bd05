"""The SDK's one error hierarchy.

```
MaiaClientError
├── ValidationError            bad argument, raised before any request
├── NetworkError               connection refused, DNS, timeout
├── UnexpectedResponseError    a 2xx answer the SDK cannot read
└── APIError                   the server answered >= 400
    ├── InvalidInputError      400 INVALID_INPUT
    │   └── PayloadTooLargeError   413 PAYLOAD_TOO_LARGE
    ├── UnauthorizedError      401
    ├── ForbiddenError         403 (also INSUFFICIENT_SCOPE)
    ├── NotFoundError          404
    ├── ConflictError          409 CONFLICT
    │   └── AlreadyExistsError     409 ALREADY_EXISTS
    ├── RateLimitedError       429, with retry_after
    ├── QuotaExceededError     429 QUOTA_EXCEEDED, with limit and current
    └── ServerError            5xx
        └── UnavailableError       503 UNAVAILABLE
```
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "APIError",
    "AlreadyExistsError",
    "ConflictError",
    "ForbiddenError",
    "InvalidInputError",
    "MaiaClientError",
    "NetworkError",
    "NotFoundError",
    "PayloadTooLargeError",
    "QuotaExceededError",
    "RateLimitedError",
    "ServerError",
    "UnauthorizedError",
    "UnavailableError",
    "UnexpectedResponseError",
    "ValidationError",
    "error_from_response",
    "parse_retry_after",
]


class MaiaClientError(Exception):
    """Base of every error the SDK raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(MaiaClientError, ValueError):
    """An argument the server would refuse (empty id, blank content); no request was sent.

    ``message`` reads like the server's (``invalid content: must not be blank``) and
    ``code`` is the server's code for it, ``INVALID_INPUT``.
    """

    code = "INVALID_INPUT"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"invalid {field}: {message}")
        self.field = field


class NetworkError(MaiaClientError):
    """The server could not be reached, or did not answer in time."""


class UnexpectedResponseError(MaiaClientError):
    """A successful answer whose body is not what the route returns (wrong server?)."""

    def __init__(self, message: str, *, status: int, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class APIError(MaiaClientError):
    """The server answered with an error status.

    ``message`` is the envelope's ``error`` (with the middleware's ``message`` appended
    when present), ``code`` its machine code (or the class's usual code when the body had
    none, e.g. the API-key middleware's ``401``), ``details`` its details, and ``body``
    the decoded JSON body (or the raw text when it was not JSON). ``retry_after`` is the
    ``Retry-After`` header in seconds, when the server sent one (``429``, ``503``), and
    ``request_id`` the answer's ``X-Request-ID``.
    """

    default_code: ClassVar[str | None] = None

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        details: str | None = None,
        body: Any = None,
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or self.default_code
        self.details = details
        self.body = body
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        code = f" ({self.code})" if self.code else ""
        return f"{self.message}{code}"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status}, code={self.code!r}, message={self.message!r})"


class InvalidInputError(APIError):
    """400: a value breaks a rule (the message names the field)."""

    default_code = "INVALID_INPUT"


class PayloadTooLargeError(InvalidInputError):
    """413: the request body is larger than the server accepts."""

    default_code = "PAYLOAD_TOO_LARGE"


class UnauthorizedError(APIError):
    """401: no API key, or a wrong one."""

    default_code = "UNAUTHORIZED"


class ForbiddenError(APIError):
    """403: the key may not do this (scope, namespace, suspended tenant)."""

    default_code = "FORBIDDEN"


class NotFoundError(APIError):
    """404: no such memory, namespace, tenant or route."""

    default_code = "NOT_FOUND"


class ConflictError(APIError):
    """409: the request conflicts with the current state."""

    default_code = "CONFLICT"


class AlreadyExistsError(ConflictError):
    """409: a unique name is taken."""

    default_code = "ALREADY_EXISTS"


class RateLimitedError(APIError):
    """429: too many requests; ``retry_after`` is the server's ``Retry-After`` in seconds."""

    default_code = "RATE_LIMITED"


class QuotaExceededError(APIError):
    """429: a quota (a namespace's ``max_memories``, a tenant's limits) would be passed.

    Not retried: waiting does not help.
    """

    default_code = "QUOTA_EXCEEDED"

    @property
    def limit(self) -> int | None:
        """The quota, when the server sent it."""
        return _int_field(self.body, "limit")

    @property
    def current(self) -> int | None:
        """The current usage, when the server sent it."""
        return _int_field(self.body, "current")


class ServerError(APIError):
    """5xx: the server (or a proxy in front of it) failed."""


class UnavailableError(ServerError):
    """503: the server cannot serve requests now (starting, shutting down, not ready)."""

    default_code = "UNAVAILABLE"


def _int_field(body: Any, key: str) -> int | None:
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_BY_CODE: dict[str, type[APIError]] = {
    "INVALID_INPUT": InvalidInputError,
    "PAYLOAD_TOO_LARGE": PayloadTooLargeError,
    "UNAUTHORIZED": UnauthorizedError,
    "FORBIDDEN": ForbiddenError,
    "INSUFFICIENT_SCOPE": ForbiddenError,
    "NOT_FOUND": NotFoundError,
    "CONFLICT": ConflictError,
    "ALREADY_EXISTS": AlreadyExistsError,
    "RATE_LIMITED": RateLimitedError,
    "QUOTA_EXCEEDED": QuotaExceededError,
    "UNAVAILABLE": UnavailableError,
}

_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidInputError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitedError,
    503: UnavailableError,
}


def _error_class(status: int, code: str | None, body: Any) -> type[APIError]:
    if code in _BY_CODE:
        return _BY_CODE[code]
    # The tenant quota middleware answers 429 {"error": "memory quota exceeded", ...}.
    if status == 429 and isinstance(body, dict) and "quota" in str(body.get("error", "")).lower():
        return QuotaExceededError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else APIError


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def error_from_response(
    status: int, text: str, headers: Mapping[str, str] | None = None
) -> APIError:
    """The error for an HTTP answer ``status`` with body ``text`` (the contract's envelope,
    the middleware's ``{error, message}``, or anything else)."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    body: Any
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    code: str | None = None
    details: str | None = None
    if isinstance(body, dict):
        error = body.get("error")
        message = str(error) if error else f"HTTP {status}"
        if extra := body.get("message"):
            message = f"{message}: {extra}"
        raw_code = body.get("code")
        code = str(raw_code) if raw_code else None
        raw_details = body.get("details")
        details = str(raw_details) if raw_details else None
    else:
        message = text.strip() or f"HTTP {status}"
    cls = _error_class(status, code, body)
    return cls(
        status,
        code,
        message,
        details,
        body,
        request_id=headers.get("x-request-id"),
        retry_after=parse_retry_after(headers.get("retry-after")),
    )
