"""Admission control in front of the routes: per-IP rate limit, then the API key."""

from __future__ import annotations

import hmac
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from maia.api.responses import JSON_MEDIA_TYPE

# Paths anyone may call, whatever the auth settings (probes, scrapers, API docs).
PUBLIC_PREFIXES = ("/health", "/ready", "/metrics", "/docs", "/openapi.json")


async def send_json(send: Send, status: int, body: dict[str, object], **headers: str) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    raw_headers = [
        (b"content-type", JSON_MEDIA_TYPE.encode()),
        (b"content-length", str(len(payload)).encode()),
    ] + [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token bucket per key: ``rate`` tokens a second, holding at most ``burst``."""

    def __init__(self, rate: float, burst: float, *, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float | None = None) -> float:
        """0.0 if a token was taken, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled completely carries no state worth keeping.
        full_after = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}


class RateLimitMiddleware:
    """The contract's limiter: per client IP, every path, before authentication."""

    def __init__(
        self, app: ASGIApp, *, rps: float, on_reject: Callable[[], None] | None = None
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(rps, 2 * rps) if rps > 0 else None
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.buckets is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.buckets.take(client[0] if client else "unknown")
        if wait > 0:
            if self.on_reject is not None:
                self.on_reject()
            body: dict[str, object] = {
                "error": "rate_limit_exceeded",
                "message": "too many requests, please slow down",
            }
            await send_json(send, 429, body, Retry_After=str(max(1, math.ceil(wait))))
            return
        await self.app(scope, receive, send)


class ApiKeyMiddleware:
    """A single server key (``MAIA_API_KEY``), as the contract's §2.1 describes."""

    def __init__(self, app: ASGIApp, *, api_key: str, allow_query_param: bool) -> None:
        self.app = app
        self.api_key = api_key.encode()
        self.allow_query_param = allow_query_param

    def _presented_key(self, scope: Scope) -> str | None:
        headers: dict[bytes, bytes] = {k.lower(): v for k, v in scope["headers"]}
        if key := headers.get(b"x-api-key"):
            return key.decode("latin-1")
        if auth := headers.get(b"authorization"):
            return auth.decode("latin-1").removeprefix("Bearer ").strip()
        if self.allow_query_param:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            if values := query.get("api_key"):
                return str(values[0])
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        key = self._presented_key(scope)
        if not key:
            await send_json(send, 401, {"error": "unauthorized", "message": "API key is required"})
            return
        if not hmac.compare_digest(key.encode(), self.api_key):
            await send_json(send, 401, {"error": "unauthorized", "message": "invalid API key"})
            return
        await self.app(scope, receive, send)
