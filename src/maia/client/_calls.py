"""Every SDK operation as data: method, path, query, body, how to read the answer and
whether it may be retried. ``Client`` and ``AsyncClient`` only send these.

Client-side checks (empty ids, blank content) raise :class:`ValidationError` here,
before any request, as the original SDK did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import pydantic

from maia.client.errors import UnexpectedResponseError, ValidationError, error_from_response
from maia.client.models import (
    APIKey,
    AuditEvent,
    ContextResponse,
    CreatedAPIKey,
    Edge,
    Health,
    ListResponse,
    Memory,
    MemorySource,
    MemoryType,
    Namespace,
    NamespaceConfig,
    NewMemory,
    RelatedMemory,
    RelationType,
    SearchResult,
    Stats,
    Tenant,
    TenantConfig,
    TenantQuotas,
    TenantUsage,
)

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)

Config = NamespaceConfig | Mapping[str, Any]
When = datetime | str


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and how to read its answer."""

    method: str
    path: str
    read: Callable[[bytes], T]
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None  # JSON; None sends no body
    retry: bool = False  # safe to send again: reads, PUT, DELETE, read-only POSTs


def read_response(call: Call[T], status: int, content: bytes, headers: Mapping[str, str]) -> T:
    """The parsed result of a 2xx answer, or the :class:`APIError` for any other."""
    if status >= 400:
        raise error_from_response(status, content.decode("utf-8", "replace"), headers)
    try:
        return call.read(content)
    except (pydantic.ValidationError, ValueError) as exc:
        text = content.decode("utf-8", "replace")
        raise UnexpectedResponseError(
            f"unexpected answer to {call.method} {call.path} (HTTP {status}): {exc}",
            status=status,
            body=text,
        ) from exc


# -- readers -----------------------------------------------------------------------------


def _model(cls: type[M]) -> Callable[[bytes], M]:
    return cls.model_validate_json


def _nothing(content: bytes) -> None:
    return None


def _count(key: str) -> Callable[[bytes], int]:
    def read(content: bytes) -> int:
        value = json.loads(content)[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key!r} is not an integer")
        return value

    return read


def _items(cls: type[ListResponse[M]]) -> Callable[[bytes], list[M]]:
    def read(content: bytes) -> list[M]:
        return cls.model_validate_json(content).data

    return read


_MEMORIES = ListResponse[Memory]
_RESULTS = ListResponse[SearchResult]
_NAMESPACES = ListResponse[Namespace]
_EDGES = ListResponse[Edge]
_RELATED = ListResponse[RelatedMemory]
_TENANTS = ListResponse[Tenant]
_API_KEYS = ListResponse[APIKey]
_AUDIT = ListResponse[AuditEvent]

# -- argument helpers --------------------------------------------------------------------


def segment(value: str) -> str:
    """A path parameter, percent-encoded with nothing kept (``a/b`` -> ``a%2Fb``); ``.``
    and ``..`` too, which a URL would otherwise read as dot segments and remove."""
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def require(name: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(name, "must not be empty")
    if not value.strip():
        raise ValidationError(name, "must not be blank")
    return value


def require_ids(name: str, values: Iterable[str]) -> list[str]:
    ids = list(values)
    if not ids:
        raise ValidationError(name, "must not be empty")
    for i, value in enumerate(ids):
        require(f"{name}[{i}]", value)
    return ids


def _iso(value: When | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _fields(**values: Any) -> dict[str, Any]:
    """The given (not ``None``) fields, dates as RFC 3339 strings."""
    return {
        k: _iso(v) if isinstance(v, datetime) else v for k, v in values.items() if v is not None
    }


def _query(**values: Any) -> tuple[tuple[str, str], ...]:
    """Query parameters; lists repeat the key, booleans are ``true``/``false``."""
    params: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, bool):
                params.append((key, "true" if item else "false"))
            else:
                params.append((key, str(item)))
    return tuple(params)


def _config(config: Config | None) -> dict[str, Any] | None:
    if config is None:
        return None
    if isinstance(config, NamespaceConfig):
        dumped: dict[str, Any] = config.model_dump(mode="json")
        return dumped
    return dict(config)


def _dump(value: pydantic.BaseModel | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, pydantic.BaseModel):
        dumped: dict[str, Any] = value.model_dump(mode="json", exclude_none=True)
        return dumped
    return dict(value)


# -- health and stats --------------------------------------------------------------------


def health() -> Call[Health]:
    return Call("GET", "/health", _model(Health), retry=True)


def ready() -> Call[None]:
    # Not retried: a readiness probe wants the state now.
    return Call("GET", "/ready", _nothing)


def stats() -> Call[Stats]:
    return Call("GET", "/v1/stats", _model(Stats), retry=True)


# -- memories ----------------------------------------------------------------------------


def create_memory(
    namespace: str,
    content: str,
    *,
    type: MemoryType | str | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Sequence[str] | None = None,
    confidence: float | None = None,
    source: MemorySource | str | None = None,
    created_at: When | None = None,
) -> Call[Memory]:
    body = _fields(
        namespace=require("namespace", namespace),
        content=require("content", content),
        type=type,
        metadata=dict(metadata) if metadata is not None else None,
        tags=list(tags) if tags is not None else None,
        confidence=confidence,
        source=source,
        created_at=created_at,
    )
    return Call("POST", "/v1/memories", _model(Memory), body=body)


def create_memories(memories: Iterable[NewMemory | Mapping[str, Any]]) -> Call[list[Memory]]:
    items = [dict(item) for item in memories]
    if not items:
        raise ValidationError("memories", "must not be empty")
    for i, item in enumerate(items):
        require(f"memories[{i}].namespace", item.get("namespace", ""))
        require(f"memories[{i}].content", item.get("content", ""))
    body = {"memories": [_fields(**item) for item in items]}
    return Call("POST", "/v1/memories/batch", _items(_MEMORIES), body=body)


def get_memory(memory_id: str) -> Call[Memory]:
    path = f"/v1/memories/{segment(require('id', memory_id))}"
    return Call("GET", path, _model(Memory), retry=True)


def update_memory(
    memory_id: str,
    *,
    content: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Sequence[str] | None = None,
    confidence: float | None = None,
) -> Call[Memory]:
    path = f"/v1/memories/{segment(require('id', memory_id))}"
    if content is not None:
        require("content", content)
    body = _fields(
        content=content,
        metadata=dict(metadata) if metadata is not None else None,
        tags=list(tags) if tags is not None else None,
        confidence=confidence,
    )
    return Call("PUT", path, _model(Memory), body=body, retry=True)


def delete_memory(memory_id: str) -> Call[None]:
    path = f"/v1/memories/{segment(require('id', memory_id))}"
    return Call("DELETE", path, _nothing, retry=True)


def delete_memories(ids: Iterable[str]) -> Call[int]:
    body = {"ids": require_ids("ids", ids)}
    return Call("POST", "/v1/memories/batch/delete", _count("deleted"), body=body)


def touch_memories(ids: Iterable[str]) -> Call[int]:
    body = {"ids": require_ids("ids", ids)}
    return Call("POST", "/v1/memories/touch", _count("touched"), body=body)


def search_memories(
    query: str | None = None,
    *,
    namespace: str | None = None,
    include_descendants: bool | None = None,
    types: Sequence[MemoryType | str] | None = None,
    tags: Sequence[str] | None = None,
    sources: Sequence[MemorySource | str] | None = None,
    min_confidence: float | None = None,
    created_after: When | None = None,
    created_before: When | None = None,
    limit: int | None = None,
    offset: int | None = None,
    include_superseded: bool | None = None,
    explain: bool | None = None,
    now: When | None = None,
    time_filter: bool | None = None,
    fusion: str | None = None,
) -> Call[ListResponse[SearchResult]]:
    body = _fields(
        query=query,
        namespace=namespace,
        include_descendants=include_descendants,
        types=list(types) if types is not None else None,
        tags=list(tags) if tags is not None else None,
        sources=list(sources) if sources is not None else None,
        min_confidence=min_confidence,
        created_after=created_after,
        created_before=created_before,
        limit=limit,
        offset=offset,
        include_superseded=include_superseded,
        explain=explain,
        now=now,
        time_filter=time_filter,
        fusion=fusion,
    )
    return Call("POST", "/v1/memories/search", _model(_RESULTS), body=body, retry=True)


def list_memories(
    namespace: str | None = None,
    *,
    include_descendants: bool | None = None,
    types: Sequence[MemoryType | str] | None = None,
    tags: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Call[ListResponse[Memory]]:
    params = _query(
        namespace=namespace,
        include_descendants=include_descendants,
        type=list(types) if types is not None else None,
        tag=list(tags) if tags is not None else None,
        limit=limit,
        offset=offset,
    )
    return Call("GET", "/v1/memories", _model(_MEMORIES), params=params, retry=True)


def list_namespace_memories(
    namespace: str, *, limit: int | None = None, offset: int | None = None
) -> Call[ListResponse[Memory]]:
    path = f"/v1/namespaces/{segment(require('namespace', namespace))}/memories"
    params = _query(limit=limit, offset=offset)
    return Call("GET", path, _model(_MEMORIES), params=params, retry=True)


# -- relations ---------------------------------------------------------------------------


def create_relation(
    memory_id: str,
    target_id: str,
    *,
    type: RelationType | str | None = None,
    weight: float | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Call[Edge]:
    path = f"/v1/memories/{segment(require('id', memory_id))}/relations"
    body = _fields(
        target_id=require("target_id", target_id),
        type=type,
        weight=weight,
        metadata=dict(metadata) if metadata is not None else None,
    )
    return Call("POST", path, _model(Edge), body=body)


def list_relations(memory_id: str, *, direction: str | None = None) -> Call[list[Edge]]:
    path = f"/v1/memories/{segment(require('id', memory_id))}/relations"
    return Call("GET", path, _items(_EDGES), params=_query(direction=direction), retry=True)


def delete_relation(
    memory_id: str, target_id: str, *, types: Sequence[RelationType | str] | None = None
) -> Call[int]:
    source = segment(require("id", memory_id))
    target = segment(require("target_id", target_id))
    params = _query(type=list(types) if types is not None else None)
    path = f"/v1/memories/{source}/relations/{target}"
    return Call("DELETE", path, _count("deleted"), params=params, retry=True)


def list_related(
    memory_id: str,
    *,
    depth: int | None = None,
    types: Sequence[RelationType | str] | None = None,
    min_weight: float | None = None,
) -> Call[list[RelatedMemory]]:
    path = f"/v1/memories/{segment(require('id', memory_id))}/related"
    params = _query(
        depth=depth, types=list(types) if types is not None else None, min_weight=min_weight
    )
    return Call("GET", path, _items(_RELATED), params=params, retry=True)


# -- namespaces --------------------------------------------------------------------------


def _namespace_path(namespace: str, suffix: str = "") -> str:
    return f"/v1/namespaces/{segment(require('namespace', namespace))}{suffix}"


def create_namespace(
    name: str,
    *,
    parent: str | None = None,
    template: str | None = None,
    config: Config | None = None,
) -> Call[Namespace]:
    body = _fields(
        name=require("name", name), parent=parent, template=template, config=_config(config)
    )
    return Call("POST", "/v1/namespaces", _model(Namespace), body=body)


def get_namespace(namespace: str) -> Call[Namespace]:
    return Call("GET", _namespace_path(namespace), _model(Namespace), retry=True)


def update_namespace(namespace: str, config: Config | None) -> Call[Namespace]:
    body = {"config": _config(config)}
    return Call("PUT", _namespace_path(namespace), _model(Namespace), body=body, retry=True)


def delete_namespace(namespace: str) -> Call[None]:
    return Call("DELETE", _namespace_path(namespace), _nothing, retry=True)


def list_namespaces(
    *, prefix: str | None = None, limit: int | None = None, offset: int | None = None
) -> Call[ListResponse[Namespace]]:
    params = _query(prefix=prefix, limit=limit, offset=offset)
    return Call("GET", "/v1/namespaces", _model(_NAMESPACES), params=params, retry=True)


def list_children(namespace: str) -> Call[list[Namespace]]:
    path = _namespace_path(namespace, "/children")
    return Call("GET", path, _items(_NAMESPACES), retry=True)


def get_effective_config(namespace: str) -> Call[NamespaceConfig]:
    path = _namespace_path(namespace, "/effective-config")
    return Call("GET", path, _model(NamespaceConfig), retry=True)


# -- context -----------------------------------------------------------------------------


def get_context(
    query: str,
    *,
    namespace: str | None = None,
    token_budget: int | None = None,
    system_prompt: str | None = None,
    include_scores: bool | None = None,
    min_score: float | None = None,
    format: str | None = None,
    now: When | None = None,
    include_dates: bool | None = None,
) -> Call[ContextResponse]:
    body = _fields(
        query=require("query", query),
        namespace=namespace,
        token_budget=token_budget,
        system_prompt=system_prompt,
        include_scores=include_scores,
        include_dates=include_dates,
        min_score=min_score,
        format=format,
        now=now,
    )
    return Call("POST", "/v1/context", _model(ContextResponse), body=body, retry=True)


# -- admin (multi-tenant servers) --------------------------------------------------------


def _tenant_path(tenant_id: str, suffix: str = "") -> str:
    return f"/admin/tenants/{segment(require('tenant_id', tenant_id))}{suffix}"


def create_tenant(
    name: str,
    *,
    plan: str | None = None,
    config: TenantConfig | Mapping[str, Any] | None = None,
    quotas: TenantQuotas | Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Call[Tenant]:
    body = _fields(
        name=require("name", name),
        plan=plan,
        config=_dump(config),
        quotas=_dump(quotas),
        metadata=dict(metadata) if metadata is not None else None,
    )
    return Call("POST", "/admin/tenants", _model(Tenant), body=body)


def list_tenants(
    *,
    status: str | None = None,
    plan: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Call[ListResponse[Tenant]]:
    params = _query(limit=limit, offset=offset, status=status, plan=plan)
    return Call("GET", "/admin/tenants", _model(_TENANTS), params=params, retry=True)


def get_tenant(tenant_id: str) -> Call[Tenant]:
    return Call("GET", _tenant_path(tenant_id), _model(Tenant), retry=True)


def update_tenant(
    tenant_id: str,
    *,
    name: str | None = None,
    plan: str | None = None,
    config: TenantConfig | Mapping[str, Any] | None = None,
    quotas: TenantQuotas | Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Call[Tenant]:
    body = _fields(
        name=name,
        plan=plan,
        config=_dump(config),
        quotas=_dump(quotas),
        metadata=dict(metadata) if metadata is not None else None,
    )
    return Call("PUT", _tenant_path(tenant_id), _model(Tenant), body=body, retry=True)


def delete_tenant(tenant_id: str) -> Call[None]:
    return Call("DELETE", _tenant_path(tenant_id), _nothing, retry=True)


def tenant_usage(tenant_id: str) -> Call[TenantUsage]:
    return Call("GET", _tenant_path(tenant_id, "/usage"), _model(TenantUsage), retry=True)


def suspend_tenant(tenant_id: str) -> Call[Tenant]:
    return Call("POST", _tenant_path(tenant_id, "/suspend"), _model(Tenant))


def activate_tenant(tenant_id: str) -> Call[Tenant]:
    return Call("POST", _tenant_path(tenant_id, "/activate"), _model(Tenant))


def create_api_key(
    tenant_id: str,
    name: str,
    *,
    scopes: Sequence[str] | None = None,
    namespaces: Sequence[str] | None = None,
    default_namespace: str | None = None,
    expires_at: When | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Call[CreatedAPIKey]:
    body = _fields(
        name=require("name", name),
        scopes=list(scopes) if scopes is not None else None,
        namespaces=list(namespaces) if namespaces is not None else None,
        default_namespace=default_namespace,
        expires_at=expires_at,
        metadata=dict(metadata) if metadata is not None else None,
    )
    return Call("POST", _tenant_path(tenant_id, "/apikeys"), _model(CreatedAPIKey), body=body)


def list_api_keys(tenant_id: str) -> Call[list[APIKey]]:
    return Call("GET", _tenant_path(tenant_id, "/apikeys"), _items(_API_KEYS), retry=True)


def revoke_api_key(key: str) -> Call[None]:
    path = f"/admin/apikeys/{segment(require('key', key))}"
    return Call("DELETE", path, _nothing, retry=True)


def audit_events(
    *,
    action: str | None = None,
    tenant_id: str | None = None,
    actor: str | None = None,
    since: When | None = None,
    until: When | None = None,
    limit: int | None = None,
) -> Call[list[AuditEvent]]:
    params = _query(
        action=action,
        tenant_id=tenant_id,
        actor=actor,
        since=_iso(since),
        until=_iso(until),
        limit=limit,
    )
    return Call("GET", "/admin/audit", _items(_AUDIT), params=params, retry=True)
