"""Who is calling, and may they: the authentication middleware and the scope dependency.

``AuthMiddleware`` turns the presented key into a ``Principal`` (stored in the request
scope for routes and MCP tools), rejects suspended tenants and applies the per-key and
per-tenant limits. Each route declares the scopes it accepts with ``requires(...)``;
``scopes_of`` reads them back, so a test can prove every route declares one.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maia.api.guards import PUBLIC_PREFIXES, admit, send_json
from maia.errors import (
    Forbidden,
    InsufficientScope,
    InvalidTenant,
    MaiaError,
    TenantInactive,
    Unauthorized,
)
from maia.models import SYSTEM_TENANT, ApiKey, Tenant, TenantStatus
from maia.models import Scope as KeyScope
from maia.security.keys import hash_key
from maia.security.limits import RequestLimiter, Window
from maia.security.principal import OPEN_PRINCIPAL, PRINCIPAL_KEY, Principal
from maia.service import Maia

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/admin"
TENANT_HEADER = b"x-maia-tenant-id"
STATIC_KEY_NAME = "server-key"


class _Cache:
    """A tiny TTL cache (keys and tenants change rarely; a node may serve a revoked key
    for at most ``ttl`` seconds after another node revoked it)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Authenticator:
    """Resolves principals for one app; ``invalidate()`` after a key or tenant change."""

    def __init__(self, maia: Maia) -> None:
        settings = maia.settings
        self.maia = maia
        secret = settings.api_key.get_secret_value() if settings.api_key is not None else ""
        self._static = secret.encode() if secret else None
        self._forced = settings.auth
        self._cache = _Cache(settings.auth_cache_seconds)

    def invalidate(self) -> None:
        self._cache.clear()

    def required(self) -> bool:
        """Auth is on with ``--auth``, a server key, or any usable stored key. Once on, it
        stays on: revoking (or outliving) the last key must not open the server."""
        if self._forced or self._static is not None:
            return True
        if self._cache.get("has-keys", self.maia.has_api_keys):
            self._forced = True
        return self._forced

    def tenant(self, tenant_id: str) -> Tenant | None:
        def load() -> Tenant | None:
            try:
                return self.maia.get_tenant(tenant_id)
            except MaiaError:
                return None

        value: Tenant | None = self._cache.get(f"tenant:{tenant_id}", load)
        return value

    def _key(self, raw: str) -> ApiKey | None:
        value: ApiKey | None = self._cache.get(
            f"key:{hash_key(raw)}", lambda: self.maia.verify_api_key(raw)
        )
        if value is not None and value.expired(self.maia.now()):
            return None
        return value

    def principal(
        self, raw: str | None, tenant_header: str | None, *, admin_path: bool
    ) -> Principal:
        """The caller, or an ``Unauthorized``/``Forbidden`` error."""
        if not self.required():
            # Open server (loopback, no keys): everyone is the local admin.
            principal = OPEN_PRINCIPAL
        elif not raw:
            raise Unauthorized("API key is required")
        elif self._static is not None and hmac.compare_digest(raw.encode(), self._static):
            principal = Principal(SYSTEM_TENANT, STATIC_KEY_NAME)
        else:
            key = self._key(raw)
            if key is None:
                raise Unauthorized("invalid API key")
            principal = Principal(
                key.tenant_id,
                key.name,
                frozenset(key.scopes),
                tuple(key.namespaces),
                key.default_namespace,
                key.key,
            )
        if tenant_header and tenant_header != principal.tenant_id:
            if not principal.is_admin:
                raise Forbidden("X-MAIA-Tenant-ID is honoured only for admin keys")
            principal = principal.for_tenant(tenant_header)
        if admin_path:
            return principal
        tenant = self.tenant(principal.tenant_id)
        if tenant is None:
            raise InvalidTenant("invalid tenant")
        if tenant.status is TenantStatus.SUSPENDED:
            raise TenantInactive("tenant is suspended")
        if tenant.status is TenantStatus.PENDING_DELETION:
            raise TenantInactive("tenant is pending deletion")
        return principal


def presented_key(scope: Scope, *, allow_query_param: bool) -> str | None:
    """The key from ``X-API-Key``, ``Authorization: Bearer`` or (if enabled) ``?api_key=``."""
    headers: dict[bytes, bytes] = {k.lower(): v for k, v in scope["headers"]}
    if key := headers.get(b"x-api-key"):
        return key.decode("latin-1").strip()
    if auth := headers.get(b"authorization"):
        return auth.decode("latin-1").removeprefix("Bearer ").strip()
    if allow_query_param:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if values := query.get("api_key"):
            return str(values[0])
    return None


class AuthMiddleware:
    """Authenticates every non-public request and applies the caller's limits."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: Authenticator,
        limiter: RequestLimiter,
        render: Callable[[MaiaError], tuple[int, dict[str, Any], dict[str, str]]],
        on_failure: Callable[[Scope, MaiaError], None],
        on_success: Callable[[Principal], None],
    ) -> None:
        self.app = app
        self.auth = auth
        self.limiter = limiter
        self.render = render
        self.on_failure = on_failure
        self.on_success = on_success
        self.allow_query_param = auth.maia.settings.api_key_query_param

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        raw = presented_key(scope, allow_query_param=self.allow_query_param)
        header = dict(scope["headers"]).get(TENANT_HEADER)
        tenant_header = header.decode("latin-1").strip() if header else None
        admin_path = scope["path"].startswith(ADMIN_PREFIX)

        def admission() -> tuple[Principal, Window | None]:
            principal = self.auth.principal(raw, tenant_header, admin_path=admin_path)
            return principal, self._limit(principal)

        try:
            principal, window = await admit(self.limiter, admission)
        except MaiaError as exc:
            self.on_failure(scope, exc)
            status, body, headers = self.render(exc)
            await send_json(send, status, body, **headers)
            return
        scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        self.on_success(principal)
        if window is None:
            await self.app(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in window.headers().items()]

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_limits)

    def _limit(self, principal: Principal) -> Window | None:
        tenant = self.auth.tenant(principal.tenant_id)
        quotas = tenant.quotas if tenant is not None else None
        return self.limiter.check_caller(
            key_hash=principal.key_hash,
            tenant_id=principal.tenant_id,
            tenant_per_minute=quotas.requests_per_minute if quotas else 0,
            tenant_per_day=quotas.requests_per_day if quotas else 0,
        )


def principal_of(request: Request) -> Principal:
    """The caller the middleware resolved (the open principal on public paths)."""
    principal: Principal = request.scope.get("state", {}).get(PRINCIPAL_KEY, OPEN_PRINCIPAL)
    return principal


class Requires:
    """A route's scope requirement: the caller must hold one of ``accepted`` (or ``*``)."""

    def __init__(self, *accepted: KeyScope) -> None:
        self.accepted = accepted

    async def __call__(self, request: Request) -> Principal:  # no I/O: no worker thread
        principal = principal_of(request)
        if not principal.allows(self.accepted):
            raise InsufficientScope(
                required=[*(s.value for s in self.accepted), KeyScope.ALL.value],
                provided=sorted(s.value for s in principal.scopes),
            )
        if self.accepted == (KeyScope.ADMIN,) and not principal.is_admin:
            raise Forbidden("admin routes need an admin key of the system tenant")
        return principal


def requires(*accepted: KeyScope) -> Any:
    """``dependencies=[requires(Scope.WRITE)]`` on a route."""
    return Depends(Requires(*accepted))


def scopes_of(route: APIRoute | Any) -> tuple[KeyScope, ...] | None:
    """The scopes a route (or FastAPI route context) accepts, or None if it declares none."""
    dependant = getattr(route, "dependant", None)
    for dependency in getattr(dependant, "dependencies", ()):
        if isinstance(dependency.call, Requires):
            return dependency.call.accepted
    return None
