"""``/admin``: tenants, their API keys and usage, and the audit log (admin keys only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response

from maia.api.auth import Authenticator, requires
from maia.api.deps import MaiaDep, PageDep
from maia.api.responses import json_response
from maia.api.strict import api_router
from maia.errors import InvalidInput
from maia.models import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    ListResponse,
    Plan,
    Scope,
    Tenant,
    TenantCreate,
    TenantStatus,
    TenantUpdate,
    TenantUsage,
    as_utc,
)
from maia.security.audit import AuditQuery

router = api_router(prefix="/admin", tags=["admin"], dependencies=[requires(Scope.ADMIN)])


def _changed(request: Request) -> None:
    """Keys and tenants changed: this node forgets what it cached about them."""
    auth: Authenticator = request.app.state.auth
    auth.invalidate()


@router.post("/tenants", status_code=201, response_model=Tenant, summary="Create a tenant")
def create_tenant(maia: MaiaDep, body: TenantCreate, request: Request) -> Response:
    tenant = maia.create_tenant(body)
    _changed(request)
    return json_response(tenant, status_code=201)


@router.get("/tenants", response_model=ListResponse[Tenant], summary="List tenants")
def list_tenants(
    maia: MaiaDep,
    page: PageDep,
    status: Annotated[TenantStatus | None, Query(description="Only this status")] = None,
    plan: Annotated[Plan | None, Query(description="Only this plan")] = None,
) -> Response:
    tenants = maia.list_tenants(
        page,
        status=status.value if status else None,
        plan=plan.value if plan else None,
    )
    return json_response(ListResponse.page(tenants, offset=page.offset, limit=page.limit))


@router.get("/tenants/{tenant_id}", response_model=Tenant, summary="Get a tenant")
def get_tenant(maia: MaiaDep, tenant_id: str) -> Response:
    return json_response(maia.get_tenant(tenant_id))


@router.put("/tenants/{tenant_id}", response_model=Tenant, summary="Update a tenant")
def update_tenant(maia: MaiaDep, tenant_id: str, body: TenantUpdate, request: Request) -> Response:
    tenant = maia.update_tenant(tenant_id, body)
    _changed(request)
    return json_response(tenant)


@router.delete("/tenants/{tenant_id}", status_code=204, summary="Delete a tenant with all its data")
def delete_tenant(maia: MaiaDep, tenant_id: str, request: Request) -> Response:
    maia.delete_tenant(tenant_id)
    _changed(request)
    return Response(status_code=204)


@router.get("/tenants/{tenant_id}/usage", response_model=TenantUsage, summary="A tenant's usage")
def tenant_usage(maia: MaiaDep, tenant_id: str) -> Response:
    return json_response(maia.tenant_usage(tenant_id))


@router.post(
    "/tenants/{tenant_id}/suspend",
    response_model=Tenant,
    summary="Suspend a tenant (its keys get 403 until activated)",
)
def suspend_tenant(maia: MaiaDep, tenant_id: str, request: Request) -> Response:
    tenant = maia.suspend_tenant(tenant_id)
    _changed(request)
    return json_response(tenant)


@router.post("/tenants/{tenant_id}/activate", response_model=Tenant, summary="Activate a tenant")
def activate_tenant(maia: MaiaDep, tenant_id: str, request: Request) -> Response:
    tenant = maia.activate_tenant(tenant_id)
    _changed(request)
    return json_response(tenant)


@router.post(
    "/tenants/{tenant_id}/apikeys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create an API key (the plain key is returned once)",
)
def create_api_key(maia: MaiaDep, tenant_id: str, body: ApiKeyCreate, request: Request) -> Response:
    created = maia.create_api_key(tenant_id, body)
    _changed(request)
    return json_response(created, status_code=201)


@router.get(
    "/tenants/{tenant_id}/apikeys",
    response_model=ListResponse[ApiKey],
    summary="A tenant's API keys (never the secrets)",
)
def list_api_keys(maia: MaiaDep, tenant_id: str) -> Response:
    keys = maia.list_api_keys(tenant_id)
    return json_response(ListResponse.page(keys, offset=0, limit=0))


@router.delete(
    "/apikeys/{key}", status_code=204, summary="Revoke an API key (by plain key or its id)"
)
def revoke_api_key(maia: MaiaDep, key: str, request: Request) -> Response:
    maia.revoke_api_key(key)
    _changed(request)
    return Response(status_code=204)


@router.get("/audit", summary="Audit events, newest first")
def audit_events(
    request: Request,
    action: Annotated[
        str | None, Query(description="An action, or a prefix ending in '.' (memory.)")
    ] = None,
    tenant_id: Annotated[str | None, Query()] = None,
    actor: Annotated[str | None, Query(description="Key name")] = None,
    since: Annotated[datetime | None, Query(description="RFC 3339")] = None,
    until: Annotated[datetime | None, Query(description="RFC 3339")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    audit = request.app.state.maia.audit
    if audit is None:
        raise InvalidInput("invalid request: the audit log is disabled (audit_log = false)")
    events = audit.query(
        AuditQuery(
            action=action,
            tenant_id=tenant_id,
            actor=actor,
            since=as_utc(since) if since else None,
            until=as_utc(until) if until else None,
            limit=limit,
        )
    )
    return json_response(ListResponse.page(events, offset=0, limit=limit))
