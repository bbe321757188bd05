"""Tenants, keys and grants through the library (the same rules the transports use)."""

from __future__ import annotations

import pytest

from maia import Maia
from maia.errors import Forbidden, NotFound, QuotaExceeded
from maia.models import ZERO_TIME, ApiKeyCreate, MemoryCreate, Scope, TenantCreate, TenantQuotas
from maia.security import Principal


def test_key_verification_and_last_use_without_a_write_per_request(maia: Maia) -> None:
    created = maia.create_api_key("system", ApiKeyCreate(name="svc", scopes=[Scope.READ]))
    record = maia.verify_api_key(created.key)
    assert record is not None
    assert record.key == created.api_key.key
    assert maia.verify_api_key(created.key + "x") is None

    for _ in range(3):
        maia.note_request("system", record.key)
    assert maia.list_api_keys("system")[0].last_used_at == ZERO_TIME, "nothing written yet"
    assert maia.flush_key_usage() == 1
    assert maia.list_api_keys("system")[0].last_used_at > ZERO_TIME
    assert maia.flush_key_usage() == 0

    maia.revoke_api_key(created.key)
    assert maia.verify_api_key(created.key) is None
    with pytest.raises(NotFound):
        maia.revoke_api_key(created.api_key.key)


def test_usable_keys_turn_authentication_on(maia: Maia) -> None:
    assert not maia.has_api_keys()
    created = maia.create_api_key("system", ApiKeyCreate(name="k"))
    assert maia.has_api_keys()
    maia.revoke_api_key(created.api_key.key)
    assert not maia.has_api_keys()


def test_quota_through_the_library(maia: Maia) -> None:
    tenant = maia.create_tenant(TenantCreate(name="small", quotas=TenantQuotas(max_memories=2)))
    view = maia.for_tenant(tenant.id)
    view.create_memories([MemoryCreate(namespace="n", content=f"m{i}") for i in range(2)])
    with pytest.raises(QuotaExceeded) as caught:
        view.remember("one too many", namespace="n")
    assert (caught.value.limit, caught.value.current) == (2, 2)
    assert maia.tenant_usage(tenant.id).usage.memory_count == 2


def test_a_principal_view_keeps_to_its_namespaces(maia: Maia) -> None:
    maia.remember("hidden", namespace="private")
    view = maia.for_principal(
        Principal("system", "k", namespaces=("team",), default_namespace="team")
    )
    view.remember("visible", namespace="team/x")
    assert [m.content for m in view.list_memories()] == []  # default namespace "team" only
    assert [r.memory.content for r in view.recall("visible", namespace="team/x")] == ["visible"]
    with pytest.raises(Forbidden):
        view.recall("hidden", namespace="private")
    hidden = maia.list_memories()[0]
    with pytest.raises(Forbidden):
        view.get_memory(hidden.id)
    assert view.get_memories([hidden.id]) == []
