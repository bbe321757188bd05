"""``Client``: the blocking MAIA client. ``AsyncClient`` (``_async.py``) is its twin."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from maia.client import _calls as calls
from maia.client._base import (
    DEFAULT_TIMEOUT,
    RetryPolicy,
    check_retries,
    default_headers,
    network_error,
    resolve_base_url,
)
from maia.client._calls import Call, Config, When, read_response
from maia.client.errors import APIError, NetworkError
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


class Client:
    """A MAIA server over HTTP, blocking.

    ```python
    from maia.client import Client

    with Client("http://localhost:8080", api_key="...") as maia:
        maia.remember("alice", "Alice prefers green tea")
        print(maia.recall("what does Alice drink?", namespace="alice").content)
    ```

    ``base_url`` defaults to ``MAIA_URL``, else ``http://localhost:8080``; ``api_key``
    to ``MAIA_API_KEY`` (sent as ``X-API-Key``). ``headers`` are added to every request.
    Calls that are safe to repeat are retried up to ``max_retries`` times after a
    ``429``, a ``503`` or a network error, waiting ``backoff`` seconds and doubling (see
    :class:`RetryPolicy`). ``transport`` replaces httpx's network transport (tests,
    proxies, mounting an app in-process).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        max_retries: int = 2,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self.retry = RetryPolicy(max_retries=check_retries(max_retries), backoff=backoff)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=default_headers(api_key, headers),
            timeout=timeout,
            transport=transport,
        )

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections. The client cannot be used afterwards."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    # -- sending -------------------------------------------------------------------------

    def _run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                return self._send(call)
            except (APIError, NetworkError) as exc:
                delay = self.retry.delay(call.retry, attempt, exc)
                if delay is None:
                    raise
            time.sleep(delay)
            attempt += 1

    def _send(self, call: Call[T]) -> T:
        try:
            response = self._http.request(
                call.method, call.path, params=call.params or None, json=call.body
            )
        except httpx.TransportError as exc:
            raise network_error(exc, self.base_url) from exc
        return read_response(call, response.status_code, response.content, response.headers)

    # -- health and stats ----------------------------------------------------------------

    def health(self) -> Health:
        """Liveness: ``GET /health``."""
        return self._run(calls.health())

    def ready(self) -> None:
        """Readiness: returns when the server can serve requests, else raises
        :class:`UnavailableError` (``GET /ready``; not retried)."""
        return self._run(calls.ready())

    def stats(self) -> Stats:
        """Memory and namespace counts and storage size (``GET /v1/stats``)."""
        return self._run(calls.stats())

    # -- memories ------------------------------------------------------------------------

    def create_memory(
        self,
        namespace: str,
        content: str,
        *,
        type: MemoryType | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        confidence: float | None = None,
        source: MemorySource | str | None = None,
        created_at: When | None = None,
    ) -> Memory:
        """Store a memory (``POST /v1/memories``). Never retried.

        Unset fields take the server's defaults: type ``semantic``, source ``user``,
        confidence 1, created now.
        """
        return self._run(
            calls.create_memory(
                namespace,
                content,
                type=type,
                metadata=metadata,
                tags=tags,
                confidence=confidence,
                source=source,
                created_at=created_at,
            )
        )

    def create_memories(self, memories: Iterable[NewMemory | Mapping[str, Any]]) -> list[Memory]:
        """Store up to 1000 memories in one transaction, all or none
        (``POST /v1/memories/batch``). Each item has the fields of :meth:`create_memory`.
        Never retried."""
        return self._run(calls.create_memories(memories))

    def get_memory(self, memory_id: str) -> Memory:
        """A memory by id (``GET /v1/memories/{id}``); counts one access."""
        return self._run(calls.get_memory(memory_id))

    def update_memory(
        self,
        memory_id: str,
        *,
        content: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        confidence: float | None = None,
    ) -> Memory:
        """Change a memory (``PUT /v1/memories/{id}``). Fields left ``None`` are kept;
        ``metadata`` and ``tags`` replace the stored ones (``{}``/``[]`` clear them)."""
        return self._run(
            calls.update_memory(
                memory_id, content=content, metadata=metadata, tags=tags, confidence=confidence
            )
        )

    def delete_memory(self, memory_id: str) -> None:
        """Delete a memory (``DELETE /v1/memories/{id}``)."""
        return self._run(calls.delete_memory(memory_id))

    def delete_memories(self, ids: Iterable[str]) -> int:
        """Delete up to 1000 memories, all or none (``POST /v1/memories/batch/delete``);
        returns how many were deleted. An unknown id raises :class:`NotFoundError`."""
        return self._run(calls.delete_memories(ids))

    def touch_memories(self, ids: Iterable[str]) -> int:
        """Count one access of each memory (``POST /v1/memories/touch``); returns how many
        exist. Never retried (a repeat would count twice)."""
        return self._run(calls.touch_memories(ids))

    def search_memories(
        self,
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
    ) -> ListResponse[SearchResult]:
        """Memories ranked by relevance to ``query`` (``POST /v1/memories/search``).

        Without a query: the filter's matches, oldest first, each scored 1. ``types`` keeps
        memories of any of these types, ``tags`` those with all these tags.
        """
        return self._run(
            calls.search_memories(
                query,
                namespace=namespace,
                include_descendants=include_descendants,
                types=types,
                tags=tags,
                sources=sources,
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
        )

    def list_memories(
        self,
        namespace: str | None = None,
        *,
        include_descendants: bool | None = None,
        types: Sequence[MemoryType | str] | None = None,
        tags: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> ListResponse[Memory]:
        """Memories, oldest first, filtered by namespace (exact, or with its descendants),
        types and tags (``GET /v1/memories``). Does not count accesses."""
        return self._run(
            calls.list_memories(
                namespace,
                include_descendants=include_descendants,
                types=types,
                tags=tags,
                limit=limit,
                offset=offset,
            )
        )

    def list_namespace_memories(
        self, namespace: str, *, limit: int | None = None, offset: int | None = None
    ) -> ListResponse[Memory]:
        """The memories of a namespace record, oldest first
        (``GET /v1/namespaces/{ns}/memories``); :class:`NotFoundError` without a record."""
        return self._run(calls.list_namespace_memories(namespace, limit=limit, offset=offset))

    # -- relations -----------------------------------------------------------------------

    def create_relation(
        self,
        memory_id: str,
        target_id: str,
        *,
        type: RelationType | str | None = None,
        weight: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Edge:
        """Relate ``memory_id`` to ``target_id`` (``POST /v1/memories/{id}/relations``);
        replaces a relation of the same type. Type defaults to ``related_to``, weight to 1."""
        return self._run(
            calls.create_relation(memory_id, target_id, type=type, weight=weight, metadata=metadata)
        )

    def list_relations(self, memory_id: str, *, direction: str | None = None) -> list[Edge]:
        """A memory's relations: ``direction`` ``out``, ``in`` or ``both`` (the default)
        (``GET /v1/memories/{id}/relations``)."""
        return self._run(calls.list_relations(memory_id, direction=direction))

    def delete_relation(
        self,
        memory_id: str,
        target_id: str,
        *,
        types: Sequence[RelationType | str] | None = None,
    ) -> int:
        """Delete the relations from ``memory_id`` to ``target_id`` (only ``types`` if
        given); returns how many (``DELETE /v1/memories/{id}/relations/{target}``)."""
        return self._run(calls.delete_relation(memory_id, target_id, types=types))

    def list_related(
        self,
        memory_id: str,
        *,
        depth: int | None = None,
        types: Sequence[RelationType | str] | None = None,
        min_weight: float | None = None,
    ) -> list[RelatedMemory]:
        """Memories reachable within ``depth`` hops (1 to 5), nearest first
        (``GET /v1/memories/{id}/related``)."""
        return self._run(
            calls.list_related(memory_id, depth=depth, types=types, min_weight=min_weight)
        )

    # -- namespaces ----------------------------------------------------------------------

    def create_namespace(
        self,
        name: str,
        *,
        parent: str | None = None,
        template: str | None = None,
        config: Config | None = None,
    ) -> Namespace:
        """Create a namespace record (``POST /v1/namespaces``). Never retried."""
        return self._run(
            calls.create_namespace(name, parent=parent, template=template, config=config)
        )

    def get_namespace(self, namespace: str) -> Namespace:
        """A namespace by id or name (``GET /v1/namespaces/{ns}``)."""
        return self._run(calls.get_namespace(namespace))

    def update_namespace(self, namespace: str, config: Config | None) -> Namespace:
        """Replace a namespace's config as a whole: fields not given are cleared
        (``PUT /v1/namespaces/{ns}``; id or name)."""
        return self._run(calls.update_namespace(namespace, config))

    def delete_namespace(self, namespace: str) -> None:
        """Delete a namespace record by id or name; its memories stay
        (``DELETE /v1/namespaces/{ns}``)."""
        return self._run(calls.delete_namespace(namespace))

    def list_namespaces(
        self,
        *,
        prefix: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> ListResponse[Namespace]:
        """Namespaces, oldest first, optionally only names starting with ``prefix``
        (``GET /v1/namespaces``)."""
        return self._run(calls.list_namespaces(prefix=prefix, limit=limit, offset=offset))

    def list_children(self, namespace: str) -> list[Namespace]:
        """The direct child namespaces (``GET /v1/namespaces/{ns}/children``)."""
        return self._run(calls.list_children(namespace))

    def get_effective_config(self, namespace: str) -> NamespaceConfig:
        """The config in force, inherited fields filled in
        (``GET /v1/namespaces/{ns}/effective-config``)."""
        return self._run(calls.get_effective_config(namespace))

    # -- context -------------------------------------------------------------------------

    def get_context(
        self,
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
    ) -> ContextResponse:
        """The memories relevant to ``query``, packed into ``token_budget`` tokens, ready
        for a prompt (``POST /v1/context``). ``format``: ``text``, ``markdown`` or ``xml``;
        ``include_dates``: each memory's date (UTC) before its text."""
        return self._run(
            calls.get_context(
                query,
                namespace=namespace,
                token_budget=token_budget,
                system_prompt=system_prompt,
                include_scores=include_scores,
                min_score=min_score,
                format=format,
                now=now,
                include_dates=include_dates,
            )
        )

    # -- the original SDK's shortcuts ----------------------------------------------------

    def remember(
        self,
        namespace: str,
        content: str,
        *,
        type: MemoryType | str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        confidence: float | None = None,
    ) -> Memory:
        """Store ``content`` in ``namespace``: :meth:`create_memory` in short."""
        return self.create_memory(
            namespace, content, type=type, tags=tags, metadata=metadata, confidence=confidence
        )

    def recall(
        self,
        query: str,
        *,
        namespace: str | None = None,
        token_budget: int | None = None,
        system_prompt: str | None = None,
        min_score: float | None = None,
        include_scores: bool | None = None,
    ) -> ContextResponse:
        """The context for ``query`` (:meth:`get_context`), as the original SDK's
        ``recall``. For ranked memories use :meth:`search_memories`."""
        return self.get_context(
            query,
            namespace=namespace,
            token_budget=token_budget,
            system_prompt=system_prompt,
            min_score=min_score,
            include_scores=include_scores,
        )

    def forget(self, memory_id: str) -> None:
        """Delete a memory: :meth:`delete_memory`."""
        return self.delete_memory(memory_id)

    # -- admin (multi-tenant servers, admin key) -----------------------------------------

    def create_tenant(
        self,
        name: str,
        *,
        plan: str | None = None,
        config: TenantConfig | Mapping[str, Any] | None = None,
        quotas: TenantQuotas | Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Tenant:
        """Create a tenant (``POST /admin/tenants``); plan ``free``, ``standard`` or
        ``premium``. Never retried."""
        return self._run(
            calls.create_tenant(name, plan=plan, config=config, quotas=quotas, metadata=metadata)
        )

    def list_tenants(
        self,
        *,
        status: str | None = None,
        plan: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> ListResponse[Tenant]:
        """Tenants, optionally of one status or plan (``GET /admin/tenants``)."""
        return self._run(calls.list_tenants(status=status, plan=plan, limit=limit, offset=offset))

    def get_tenant(self, tenant_id: str) -> Tenant:
        """A tenant by id (``GET /admin/tenants/{id}``)."""
        return self._run(calls.get_tenant(tenant_id))

    def update_tenant(
        self,
        tenant_id: str,
        *,
        name: str | None = None,
        plan: str | None = None,
        config: TenantConfig | Mapping[str, Any] | None = None,
        quotas: TenantQuotas | Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Tenant:
        """Change a tenant; each field given replaces the stored one
        (``PUT /admin/tenants/{id}``)."""
        return self._run(
            calls.update_tenant(
                tenant_id, name=name, plan=plan, config=config, quotas=quotas, metadata=metadata
            )
        )

    def delete_tenant(self, tenant_id: str) -> None:
        """Delete a tenant (``DELETE /admin/tenants/{id}``); ``system`` is refused."""
        return self._run(calls.delete_tenant(tenant_id))

    def tenant_usage(self, tenant_id: str) -> TenantUsage:
        """A tenant and its current usage (``GET /admin/tenants/{id}/usage``)."""
        return self._run(calls.tenant_usage(tenant_id))

    def suspend_tenant(self, tenant_id: str) -> Tenant:
        """Suspend a tenant: its keys stop working (``POST /admin/tenants/{id}/suspend``)."""
        return self._run(calls.suspend_tenant(tenant_id))

    def activate_tenant(self, tenant_id: str) -> Tenant:
        """Reactivate a suspended tenant (``POST /admin/tenants/{id}/activate``)."""
        return self._run(calls.activate_tenant(tenant_id))

    def create_api_key(
        self,
        tenant_id: str,
        name: str,
        *,
        scopes: Sequence[str] | None = None,
        namespaces: Sequence[str] | None = None,
        default_namespace: str | None = None,
        expires_at: When | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CreatedAPIKey:
        """Create an API key for a tenant (``POST /admin/tenants/{id}/apikeys``); the
        secret is in ``.key`` and is shown only this once. ``scopes`` limit what it may
        do, ``namespaces`` (patterns) where. Never retried."""
        return self._run(
            calls.create_api_key(
                tenant_id,
                name,
                scopes=scopes,
                namespaces=namespaces,
                default_namespace=default_namespace,
                expires_at=expires_at,
                metadata=metadata,
            )
        )

    def list_api_keys(self, tenant_id: str) -> list[APIKey]:
        """A tenant's API keys, without secrets (``GET /admin/tenants/{id}/apikeys``)."""
        return self._run(calls.list_api_keys(tenant_id))

    def revoke_api_key(self, key: str) -> None:
        """Revoke an API key, given its secret or its id (``APIKey.key``)
        (``DELETE /admin/apikeys/{key}``)."""
        return self._run(calls.revoke_api_key(key))

    def audit_events(
        self,
        *,
        action: str | None = None,
        tenant_id: str | None = None,
        actor: str | None = None,
        since: When | None = None,
        until: When | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Audit log events, newest first (``GET /admin/audit``). ``action`` is an action
        (``tenant.create``) or a prefix ending in ``.`` (``memory.``); ``actor`` a key name."""
        return self._run(
            calls.audit_events(
                action=action,
                tenant_id=tenant_id,
                actor=actor,
                since=since,
                until=until,
                limit=limit,
            )
        )
