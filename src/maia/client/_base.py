"""What ``Client`` and ``AsyncClient`` share besides the calls: configuration from
arguments and the environment, default headers, the retry policy, network errors."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from maia._version import __version__
from maia.client.errors import (
    APIError,
    MaiaClientError,
    NetworkError,
    RateLimitedError,
    UnavailableError,
)

DEFAULT_URL = "http://localhost:8080"
DEFAULT_TIMEOUT = 30.0
USER_AGENT = f"maia-client/{__version__}"


def resolve_base_url(base_url: str | None) -> str:
    """The argument, else ``MAIA_URL``, else ``http://localhost:8080``."""
    return (base_url or os.environ.get("MAIA_URL") or DEFAULT_URL).rstrip("/")


def default_headers(api_key: str | None, headers: Mapping[str, str] | None) -> dict[str, str]:
    """``User-Agent``, ``Accept``, then ``X-API-Key`` (the argument, else ``MAIA_API_KEY``),
    then the caller's own headers, which win."""
    result = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    key = api_key if api_key is not None else os.environ.get("MAIA_API_KEY")
    if key:
        result["X-API-Key"] = key
    result.update(headers or {})
    return result


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to wait before sending a call again.

    Only calls marked safe to repeat are retried (reads, ``PUT``, ``DELETE``, search and
    context), after ``429 RATE_LIMITED``, ``503`` or a network error, at most
    ``max_retries`` times. The wait doubles from ``backoff`` seconds (capped at
    ``max_backoff``), with jitter; a ``Retry-After`` from the server is waited at least,
    unless it is longer than ``max_retry_after``, in which case the error is raised.
    """

    max_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, retry: bool, attempt: int, error: MaiaClientError) -> float | None:
        """Seconds to wait before retry number ``attempt + 1`` of a call (``retry``: safe to
        repeat), or ``None`` to give up."""
        if not retry or attempt >= self.max_retries:
            return None
        if not isinstance(error, RateLimitedError | UnavailableError | NetworkError):
            return None
        wait = random.uniform(0.5, 1.0) * min(self.max_backoff, self.backoff * 2.0**attempt)
        if isinstance(error, APIError) and error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            wait = max(wait, error.retry_after)
        return wait


def network_error(exc: httpx.TransportError, base_url: str) -> NetworkError:
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(f"timed out waiting for {base_url}: {type(exc).__name__}")
    reason = str(exc) or type(exc).__name__
    return NetworkError(f"cannot reach {base_url}: {reason}")


def check_retries(max_retries: int) -> int:
    if max_retries < 0:
        raise ValueError("max_retries must be >= 0")
    return max_retries


__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_URL",
    "RetryPolicy",
    "check_retries",
    "default_headers",
    "network_error",
    "resolve_base_url",
]
