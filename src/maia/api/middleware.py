"""ASGI middleware for every response: request ids, security headers, CORS, body limits.

Pure ASGI (not ``BaseHTTPMiddleware``): no extra task per request, streaming intact.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import unquote

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maia.errors import PayloadTooLarge
from maia.security.keys import redact_keys

log = logging.getLogger("maia.access")
_errors = logging.getLogger("maia.api")

SECURITY_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("x-xss-protection", "1; mode=block"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
)
CORS_ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
CORS_ALLOW_HEADERS = (
    "Content-Type, Authorization, X-API-Key, X-Request-ID, Accept, X-MAIA-Namespace, "
    "X-MAIA-Tenant-ID, X-MAIA-Skip-Memory, X-MAIA-Skip-Extract, X-MAIA-Token-Budget, "
    "X-MAIA-Inference-Provider"
)
# A percent-encoded "/" inside a path segment (a namespace name like "acme/team")
# is carried through routing as this character, which names can never contain.
ENCODED_SLASH = "\x1f"
_JSON_PREFIXES = ("/v1/", "/admin/")


def new_request_id() -> str:
    """The original server's format: ``YYYYMMDDhhmmss-`` + 8 hex characters."""
    return f"{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(4)}"


def decode_path_param(value: str) -> str:
    return value.replace(ENCODED_SLASH, "/")


def _path_keeping_encoded_slashes(raw_path: bytes) -> str:
    segments = raw_path.decode("latin-1").split("/")
    return "/".join(unquote(s, errors="replace").replace("/", ENCODED_SLASH) for s in segments)


class RequestContextMiddleware:
    """Outermost layer: ids, headers, CORS, OPTIONS, JSON content type, size limit, log."""

    def __init__(
        self, app: ASGIApp, *, cors_origins: Sequence[str], max_request_bytes: int
    ) -> None:
        self.app = app
        self.cors_any = "*" in cors_origins
        self.cors_origins = frozenset(cors_origins)
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id") or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        origin = headers.get("origin")
        status_holder = [0]

        raw_path: bytes | None = scope.get("raw_path")
        if raw_path and b"%2f" in raw_path.lower():
            scope["path"] = _path_keeping_encoded_slashes(raw_path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                out = MutableHeaders(scope=message)
                out["x-request-id"] = request_id
                for name, value in SECURITY_HEADERS:
                    out[name] = value
                if origin and (self.cors_any or origin in self.cors_origins):
                    out["access-control-allow-origin"] = origin
                    out["access-control-allow-methods"] = CORS_ALLOW_METHODS
                    out["access-control-allow-headers"] = CORS_ALLOW_HEADERS
                    out["access-control-max-age"] = "86400"
                    out.append("vary", "Origin")
            await send(message)

        try:
            if scope["method"] == "OPTIONS":
                # The contract: any OPTIONS answers 204, before rate limits and auth.
                await send_with_headers(
                    {"type": "http.response.start", "status": 204, "headers": []}
                )
                await send({"type": "http.response.body", "body": b""})
                return
            if scope["method"] in ("POST", "PUT", "PATCH"):
                self._force_json(scope, headers)
                length = headers.get("content-length", "")
                if length.isdigit() and int(length) > self.max_request_bytes:
                    await self._too_large(send_with_headers)
                    return
                receive = self._limited(receive)
            try:
                await self.app(scope, receive, send_with_headers)
            except Exception:
                # Answered here, not by the framework's outermost layer (which this one
                # is inside of): a 500 carries the request id and every other header.
                _errors.exception("unhandled error on %s %s", scope["method"], scope["path"])
                if status_holder[0]:  # the response had started: too late for a 500
                    raise
                await _send_json(send_with_headers, 500, INTERNAL_ERROR_BODY)
        finally:
            log.info(
                "%s %s %d %.1fms",
                scope["method"],
                redact_keys(scope["path"]),
                status_holder[0],
                (time.perf_counter() - started) * 1000,
                extra={"request_id": request_id},
            )

    @staticmethod
    def _force_json(scope: Scope, headers: dict[str, str]) -> None:
        """The contract parses bodies as JSON whatever their Content-Type says."""
        if not scope["path"].startswith(_JSON_PREFIXES):
            return
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        # Kept only where the framework decodes JSON itself; any other type (text/json,
        # application/x-json, text/plain, none) is read as JSON too.
        if media == "application/json" or (
            media.startswith("application/") and media.endswith("+json")
        ):
            return
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"] + [
            (b"content-type", b"application/json")
        ]

    def _limited(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_request_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(  # as ``_too_large`` answers a declared length
                        "request body too large", details=f"limit is {limit} bytes", field="body"
                    )
            return message

        return limited_receive

    async def _too_large(self, send: Send) -> None:
        body = (
            b'{"error":"request body too large","code":"PAYLOAD_TOO_LARGE",'
            b'"details":"limit is ' + str(self.max_request_bytes).encode() + b' bytes"}'
        )
        await _send_json(send, 413, body)


INTERNAL_ERROR_BODY = b'{"error":"internal server error","code":"INTERNAL_ERROR"}'


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
