"""Tenants and API keys through the SDK (both clients), on a server with the admin API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from maia.client import (
    APIKey,
    AuditEvent,
    CreatedAPIKey,
    ForbiddenError,
    NotFoundError,
    Tenant,
    TenantQuotas,
    TenantUsage,
    UnauthorizedError,
)
from tests.client.conftest import Connect
from tests.conftest import LiveServer


@pytest.fixture
def admin_server(serve: Callable[..., LiveServer]) -> LiveServer:
    server = serve()
    probe = httpx.get(f"{server.url}/admin/tenants", timeout=10)
    if probe.status_code == 404 and "no route" in probe.text:
        pytest.skip("this server has no /admin routes (multi-tenant admin API not built)")
    return server


def test_tenants_and_keys(connect: Connect, admin_server: LiveServer) -> None:
    url = admin_server.url
    open_client = connect(url)
    # The first key turns authentication on: make it an admin key of the system tenant.
    root = open_client.create_api_key("system", "root", scopes=["admin", "*"])
    assert isinstance(root, CreatedAPIKey)
    assert root.key.startswith("maia_")
    admin = connect(url, api_key=root.key)
    with pytest.raises(UnauthorizedError):
        connect(url).list_tenants()

    tenant = admin.create_tenant("acme", plan="standard", metadata={"team": "a"})
    assert isinstance(tenant, Tenant)
    assert (tenant.name, tenant.plan, tenant.status) == ("acme", "standard", "active")
    assert tenant.quotas.max_memories == 100_000
    assert admin.get_tenant(tenant.id).name == "acme"
    listed = admin.list_tenants(plan="standard")
    assert [t.id for t in listed.data] == [tenant.id]
    assert admin.list_tenants(status="suspended", limit=10).data == []
    updated = admin.update_tenant(tenant.id, quotas=TenantQuotas(max_memories=5))
    assert updated.quotas.max_memories == 5

    created = admin.create_api_key(tenant.id, "ci", scopes=["read", "write"])
    keys = admin.list_api_keys(tenant.id)
    assert [k.name for k in keys] == ["ci"]
    assert isinstance(keys[0], APIKey)
    assert keys[0].key == created.api_key.key != created.key  # the hash, not the secret
    worker = connect(url, api_key=created.key)
    worker.create_memory("default", "Acme's first memory")
    usage = admin.tenant_usage(tenant.id)
    assert isinstance(usage, TenantUsage)
    assert usage.usage.memory_count == 1

    assert admin.suspend_tenant(tenant.id).status == "suspended"
    with pytest.raises(ForbiddenError):
        worker.stats()
    assert admin.activate_tenant(tenant.id).status == "active"
    assert worker.stats().total_memories >= 1

    assert admin.revoke_api_key(created.key) is None
    with pytest.raises(UnauthorizedError):
        worker.stats()
    with pytest.raises(ForbiddenError):
        admin.delete_tenant("system")
    assert admin.delete_tenant(tenant.id) is None
    with pytest.raises(NotFoundError):
        admin.get_tenant(tenant.id)

    events = admin.audit_events(action="tenant.", limit=50)  # newest first
    assert all(isinstance(e, AuditEvent) for e in events)
    assert (events[0].action, events[0].target) == ("tenant.delete", tenant.id)
    assert "tenant.create" in [e.action for e in events]
    created_event = admin.audit_events(action="tenant.create", tenant_id="system", limit=1)
    assert created_event[0].target == tenant.id


def test_admin_needs_the_admin_scope(connect: Connect, admin_server: LiveServer) -> None:
    open_client: Any = connect(admin_server.url)
    reader = open_client.create_api_key("system", "reader", scopes=["read"])
    with pytest.raises(ForbiddenError) as caught:
        connect(admin_server.url, api_key=reader.key).list_tenants()
    assert caught.value.code == "INSUFFICIENT_SCOPE"
