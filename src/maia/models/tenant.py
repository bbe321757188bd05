"""Tenants, their plans and quotas, and API keys (the contract's admin objects)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from maia.models.common import ZERO_TIME, Metadata, as_utc, omit_empty, within_int64

SYSTEM_TENANT = "system"
MAX_NAME_LENGTH = 255
MAX_PATTERNS = 100


class Plan(StrEnum):
    FREE = "free"
    STANDARD = "standard"
    PREMIUM = "premium"


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    PENDING_DELETION = "pending_deletion"


class Scope(StrEnum):
    """What an API key may do; ``*`` is everything."""

    ALL = "*"
    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    SEARCH = "search"
    CONTEXT = "context"
    INFERENCE = "inference"
    STATS = "stats"
    ADMIN = "admin"


class TenantQuotas(BaseModel):
    """Limits of a tenant; 0 means unlimited."""

    model_config = ConfigDict(extra="ignore")

    max_memories: int = Field(0, ge=0)
    max_storage_bytes: int = Field(0, ge=0)
    requests_per_minute: int = Field(0, ge=0)
    requests_per_day: int = Field(0, ge=0)


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    embedding_model: str = ""
    default_token_budget: int = Field(0, ge=0)
    max_namespaces: int = Field(0, ge=0)
    retention_days: int = Field(0, ge=0)
    allowed_origins: list[str] = Field(default_factory=list)
    dedicated_storage: bool = False

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return omit_empty(data, "embedding_model", "allowed_origins")


MiB = 1024 * 1024
GiB = 1024 * MiB
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"

PLAN_QUOTAS: dict[Plan, TenantQuotas] = {
    Plan.FREE: TenantQuotas(
        max_memories=1000,
        max_storage_bytes=100 * MiB,
        requests_per_minute=60,
        requests_per_day=1000,
    ),
    Plan.STANDARD: TenantQuotas(
        max_memories=100_000,
        max_storage_bytes=10 * GiB,
        requests_per_minute=600,
        requests_per_day=100_000,
    ),
    Plan.PREMIUM: TenantQuotas(requests_per_minute=6000),
}
PLAN_CONFIG: dict[Plan, TenantConfig] = {
    Plan.FREE: TenantConfig(
        embedding_model=DEFAULT_EMBEDDING_MODEL,
        default_token_budget=2000,
        max_namespaces=5,
        retention_days=30,
    ),
    Plan.STANDARD: TenantConfig(
        embedding_model=DEFAULT_EMBEDDING_MODEL,
        default_token_budget=4000,
        max_namespaces=50,
        retention_days=90,
    ),
    Plan.PREMIUM: TenantConfig(
        embedding_model=DEFAULT_EMBEDDING_MODEL, default_token_budget=8000, dedicated_storage=True
    ),
}


def _check_name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"must be at most {MAX_NAME_LENGTH} characters")
    return value


Name = Annotated[str, AfterValidator(_check_name)]


class Tenant(BaseModel):
    id: str
    name: str
    plan: Plan
    status: TenantStatus
    config: TenantConfig
    quotas: TenantQuotas
    created_at: datetime
    updated_at: datetime
    metadata: Metadata | None = None

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return omit_empty(data, "metadata")


def system_tenant(at: datetime) -> Tenant:
    """The built-in tenant of admin and single-tenant use: premium, unlimited."""
    return Tenant(
        id=SYSTEM_TENANT,
        name=SYSTEM_TENANT,
        plan=Plan.PREMIUM,
        status=TenantStatus.ACTIVE,
        config=PLAN_CONFIG[Plan.PREMIUM].model_copy(update={"default_token_budget": 0}),
        quotas=TenantQuotas(),
        created_at=at,
        updated_at=at,
    )


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Name
    plan: Plan = Plan.FREE
    config: TenantConfig | None = None
    quotas: TenantQuotas | None = None
    metadata: Metadata | None = None

    _within_int64 = field_validator("config", "quotas")(within_int64)

    def resolved_quotas(self) -> TenantQuotas:
        """The contract's rule: no memory or storage limit given -> the plan's quotas."""
        quotas = self.quotas
        if quotas is None or (quotas.max_memories == 0 and quotas.max_storage_bytes == 0):
            return PLAN_QUOTAS[self.plan].model_copy()
        return quotas

    def resolved_config(self) -> TenantConfig:
        config = self.config
        if config is None or config.default_token_budget == 0:
            return PLAN_CONFIG[self.plan].model_copy()
        return config


class TenantUpdate(BaseModel):
    """Each given field replaces the stored one."""

    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    plan: Plan | None = None
    config: TenantConfig | None = None
    quotas: TenantQuotas | None = None
    metadata: Metadata | None = None

    _within_int64 = field_validator("config", "quotas")(within_int64)


class Usage(BaseModel):
    tenant_id: str
    memory_count: int
    namespace_count: int
    storage_bytes: int
    requests_today: int
    last_updated: datetime


class TenantUsage(BaseModel):
    tenant: Tenant
    usage: Usage


def _check_pattern(value: str) -> str:
    if not value.strip() or value != value.strip():
        raise ValueError("namespace patterns must be non-empty without surrounding spaces")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"namespace patterns must be at most {MAX_NAME_LENGTH} characters")
    return value


NamespacePattern = Annotated[str, AfterValidator(_check_pattern)]


class ApiKey(BaseModel):
    """A stored key: never the secret, only its SHA-256 (``key``)."""

    key: str
    tenant_id: str
    name: str
    scopes: list[Scope] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    default_namespace: str | None = None
    expires_at: datetime = ZERO_TIME
    created_at: datetime
    last_used_at: datetime = ZERO_TIME
    revoked_at: datetime | None = None
    metadata: Metadata | None = None

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return omit_empty(
            data, "scopes", "namespaces", "default_namespace", "revoked_at", "metadata"
        )

    def expired(self, now: datetime) -> bool:
        return self.expires_at != ZERO_TIME and self.expires_at <= now


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Name
    scopes: list[Scope] = Field(default_factory=list)
    namespaces: list[NamespacePattern] = Field(default_factory=list, max_length=MAX_PATTERNS)
    default_namespace: str | None = None
    expires_at: datetime | None = None
    metadata: Metadata | None = None

    @field_validator("expires_at", mode="before")
    @classmethod
    def _rfc3339(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as exc:
                raise ValueError("invalid expires_at format, expected RFC3339") from exc
        return value

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class ApiKeyCreated(BaseModel):
    """The create response: the record and, this once, the plain key."""

    api_key: ApiKey
    key: str
