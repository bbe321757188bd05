"""Records for store tests, with fixed timestamps and fresh ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from maia.models import (
    ApiKey,
    Edge,
    Memory,
    MemorySource,
    MemoryType,
    Namespace,
    NamespaceConfig,
    Plan,
    RelationType,
    Scope,
    Tenant,
    TenantConfig,
    TenantQuotas,
    TenantStatus,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def memory(
    content: str,
    *,
    namespace: str = "ns",
    tags: list[str] | None = None,
    kind: MemoryType = MemoryType.SEMANTIC,
    at: datetime = T0,
    confidence: float = 1.0,
    source: MemorySource = MemorySource.USER,
    metadata: dict[str, Any] | None = None,
    token_count: int | None = None,
) -> Memory:
    return Memory(
        id=str(uuid.uuid4()),
        namespace=namespace,
        content=content,
        type=kind,
        metadata=metadata,
        tags=tags or [],
        created_at=at,
        updated_at=at,
        accessed_at=at,
        confidence=confidence,
        source=source,
        token_count=token_count,
    )


def namespace(
    name: str,
    parent: str | None = None,
    *,
    at: datetime = T0,
    config: NamespaceConfig | None = None,
) -> Namespace:
    return Namespace(
        id=str(uuid.uuid4()),
        name=name,
        parent=parent,
        config=config or NamespaceConfig(),
        created_at=at,
        updated_at=at,
    )


def tenant(
    tenant_id: str,
    *,
    name: str | None = None,
    plan: Plan = Plan.FREE,
    status: TenantStatus = TenantStatus.ACTIVE,
    at: datetime = T0,
    quotas: TenantQuotas | None = None,
    metadata: dict[str, Any] | None = None,
) -> Tenant:
    return Tenant(
        id=tenant_id,
        name=name or f"{tenant_id} inc",
        plan=plan,
        status=status,
        config=TenantConfig(),
        quotas=quotas or TenantQuotas(),
        created_at=at,
        updated_at=at,
        metadata=metadata,
    )


def api_key(
    key: str,
    tenant_id: str,
    *,
    at: datetime = T0,
    expires_at: datetime | None = None,
    scopes: list[Scope] | None = None,
) -> ApiKey:
    values: dict[str, Any] = {
        "key": key,
        "tenant_id": tenant_id,
        "name": f"key {key}",
        "scopes": scopes or [Scope.READ, Scope.WRITE],
        "namespaces": ["ns", "team/*"],
        "default_namespace": "ns",
        "created_at": at,
        "metadata": {"owner": "ops"},
    }
    if expires_at is not None:
        values["expires_at"] = expires_at
    return ApiKey(**values)


def vector(*values: float) -> bytes:
    """Raw float32 bytes, as the store keeps embeddings."""
    return np.array(values, dtype=np.float32).tobytes()


def edge(
    source: str,
    target: str,
    kind: RelationType = RelationType.RELATED_TO,
    *,
    weight: float = 1.0,
    at_days: int = 0,
    metadata: dict[str, object] | None = None,
) -> Edge:
    return Edge(
        source_id=source,
        target_id=target,
        type=kind,
        weight=weight,
        metadata=metadata,
        created_at=T0 + timedelta(at_days),
    )
