"""Admission control in front of everything: the per-IP rate limit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from maia.api.errors import render_error
from maia.api.responses import JSON_MEDIA_TYPE
from maia.errors import MaiaError, RateLimited
from maia.security.limits import RequestLimiter

# Paths anyone may call, whatever the auth settings (probes, scrapers, API docs).
PUBLIC_PREFIXES = ("/health", "/ready", "/metrics", "/docs", "/openapi.json")

T = TypeVar("T")


async def admit(limiter: RequestLimiter, check: Callable[[], T]) -> T:
    """Runs an admission check: inline when the limits are counted in memory, in a
    worker thread when a check is a round trip to a database or Redis (a slow or locked
    storage must hold up that request only, never the event loop and every other)."""
    if limiter.remote:
        return await run_in_threadpool(check)
    return check()


async def send_json(send: Send, status: int, body: dict[str, object], **headers: str) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    raw_headers = [
        (b"content-type", JSON_MEDIA_TYPE.encode()),
        (b"content-length", str(len(payload)).encode()),
    ] + [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class RateLimitMiddleware:
    """The contract's limiter: per client IP, every path, before authentication."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RequestLimiter,
        on_reject: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        try:
            await admit(self.limiter, lambda: self.limiter.check_ip(ip))
        except MaiaError as exc:  # over the limit, or the limit's storage is down (503)
            if self.on_reject is not None and isinstance(exc, RateLimited):
                self.on_reject()
            status, body, headers = render_error(exc)
            await send_json(send, status, body, **headers)
            return
        await self.app(scope, receive, send)
