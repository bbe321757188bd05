"""What the SDK's methods return and accept.

Memories, namespaces, search results, context and stats are the server's own models
(``maia.models``, plain pydantic with no server code behind them), so a result parsed
here and dumped with ``model_dump(mode="json")`` is the JSON the server sent. The admin
objects are defined here, loosely (plans, statuses and scopes as plain strings, unknown
fields ignored), so that a client keeps working against a server with more of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Required, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from maia.models import (
    ContextMemory,
    ContextResponse,
    Edge,
    ListResponse,
    Memory,
    MemorySource,
    MemoryType,
    Namespace,
    NamespaceConfig,
    RelatedMemory,
    Relation,
    RelationType,
    SearchResult,
    Stats,
    ZoneStats,
)

__all__ = [
    "APIKey",
    "AuditEvent",
    "ContextMemory",
    "ContextResponse",
    "CreatedAPIKey",
    "Edge",
    "Health",
    "ListResponse",
    "Memory",
    "MemorySource",
    "MemoryType",
    "Namespace",
    "NamespaceConfig",
    "NewMemory",
    "RelatedMemory",
    "Relation",
    "RelationType",
    "SearchResult",
    "Stats",
    "Tenant",
    "TenantConfig",
    "TenantQuotas",
    "TenantUsage",
    "Usage",
    "ZoneStats",
]


class NewMemory(TypedDict, total=False):
    """One item of :meth:`Client.create_memories`: the fields of ``POST /v1/memories``."""

    namespace: Required[str]
    content: Required[str]
    type: MemoryType | str
    metadata: dict[str, Any]
    tags: list[str]
    confidence: float
    source: MemorySource | str
    created_at: datetime | str


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Health(_Tolerant):
    """``GET /health``."""

    status: str
    service: str


class TenantConfig(_Tolerant):
    """A tenant's settings (contract §7); unset fields are ``None``."""

    embedding_model: str | None = None
    default_token_budget: int | None = None
    max_namespaces: int | None = None
    retention_days: int | None = None
    allowed_origins: list[str] | None = None
    dedicated_storage: bool | None = None


class TenantQuotas(_Tolerant):
    """A tenant's limits; ``0`` means unlimited."""

    max_memories: int = 0
    max_storage_bytes: int = 0
    requests_per_minute: int = 0
    requests_per_day: int = 0


class Tenant(_Tolerant):
    """A tenant of a multi-tenant server (``/admin/tenants``)."""

    id: str
    name: str
    plan: str
    status: str
    config: TenantConfig = Field(default_factory=TenantConfig)
    quotas: TenantQuotas = Field(default_factory=TenantQuotas)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    metadata: dict[str, Any] | None = None


class Usage(_Tolerant):
    """What a tenant uses now."""

    tenant_id: str
    memory_count: int = 0
    namespace_count: int = 0
    storage_bytes: int = 0
    requests_today: int = 0
    last_updated: datetime | None = None


class TenantUsage(_Tolerant):
    """``GET /admin/tenants/{id}/usage``: the tenant and its usage."""

    tenant: Tenant
    usage: Usage


class APIKey(_Tolerant):
    """A stored API key: ``key`` is the SHA-256 of the secret, never the secret.
    ``namespaces`` are the namespace patterns it may use (empty: all)."""

    key: str
    tenant_id: str
    name: str
    scopes: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    default_namespace: str | None = None
    expires_at: datetime | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    metadata: dict[str, Any] | None = None


class AuditEvent(BaseModel):
    """One audit log event (``GET /admin/audit``); fields the server adds are kept."""

    model_config = ConfigDict(extra="allow")

    time: datetime
    action: str
    tenant_id: str | None = None
    actor: str | None = None
    outcome: str | None = None
    target: str | None = None
    details: dict[str, Any] | None = None


class CreatedAPIKey(_Tolerant):
    """``POST /admin/tenants/{id}/apikeys``: the stored key and the secret, shown once."""

    api_key: APIKey
    key: str
