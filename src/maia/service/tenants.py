"""Tenants and API keys: the admin operations, and key verification for the transports.

These act on the whole instance, not on the view's tenant; transports allow them to
admin keys only.
"""

from __future__ import annotations

import contextlib
import hmac
import threading
from collections import defaultdict
from datetime import date, datetime

from maia.errors import AlreadyExists, Forbidden, InvalidInput, NotFound
from maia.models import (
    SYSTEM_TENANT,
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    Page,
    Tenant,
    TenantCreate,
    TenantStatus,
    TenantUpdate,
    TenantUsage,
    Usage,
)
from maia.models.tenant import system_tenant
from maia.security.keys import generate_key, hash_key, is_key_hash
from maia.security.principal import namespace_allowed
from maia.service.admin import AdminOps
from maia.service.base import new_id
from maia.store.base import StoreReader


class UsageMeter:
    """What a node counts without writing per request: requests per tenant today and
    when each key was last used (flushed to the store in batches)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._day = date.min
        self._requests: defaultdict[str, int] = defaultdict(int)
        self._keys_used: dict[str, datetime] = {}

    def request(self, tenant_id: str, at: datetime, key_hash: str | None) -> None:
        with self._lock:
            if at.date() != self._day:
                self._day = at.date()
                self._requests.clear()
            self._requests[tenant_id] += 1
            if key_hash is not None:
                self._keys_used[key_hash] = at

    def requests_today(self, tenant_id: str, today: date) -> int:
        with self._lock:
            return self._requests.get(tenant_id, 0) if today == self._day else 0

    def take_key_uses(self) -> dict[str, datetime]:
        with self._lock:
            used, self._keys_used = self._keys_used, {}
        return used


class TenantOps(AdminOps):
    _meter: UsageMeter

    # -- tenants -------------------------------------------------------------------------

    def ensure_system_tenant(self) -> None:
        """The built-in tenant exists in every store (admin and single-tenant use)."""
        with self._write() as tx:
            if tx.get_tenant(SYSTEM_TENANT) is None:
                # Another node starting at the same moment may insert it first.
                with contextlib.suppress(AlreadyExists):
                    tx.insert_tenant(system_tenant(self._clock()))

    def create_tenant(self, data: TenantCreate) -> Tenant:
        now = self._clock()
        tenant = Tenant(
            id=new_id(),
            name=data.name,
            plan=data.plan,
            status=TenantStatus.ACTIVE,
            config=data.resolved_config(),
            quotas=data.resolved_quotas(),
            metadata=data.metadata or None,
            created_at=now,
            updated_at=now,
        )
        with self._write() as tx:
            tx.insert_tenant(tenant)
        self._record("tenant.create", tenant.id, name=tenant.name, plan=tenant.plan.value)
        return tenant

    def get_tenant(self, tenant_id: str) -> Tenant:
        with self._store.read() as tx:
            return _require_tenant(tx, tenant_id)

    def list_tenants(
        self, page: Page | None = None, *, status: str | None = None, plan: str | None = None
    ) -> list[Tenant]:
        with self._store.read() as tx:
            return tx.list_tenants(page or Page(), status=status, plan=plan)

    def update_tenant(self, tenant_id: str, data: TenantUpdate) -> Tenant:
        changes = data.model_dump(exclude_none=True)
        with self._write() as tx:
            current = _require_tenant(tx, tenant_id)
            updated = current.model_copy(
                update={
                    **{k: getattr(data, k) for k in changes},
                    "metadata": data.metadata or None
                    if data.metadata is not None
                    else current.metadata,
                    "updated_at": self._clock(),
                }
            )
            tx.update_tenant(updated)
        self._record("tenant.update", tenant_id, fields=sorted(changes))
        return updated

    def delete_tenant(self, tenant_id: str) -> None:
        """Deletes the tenant with its keys, namespaces, memories and relations."""
        if tenant_id == SYSTEM_TENANT:
            raise Forbidden("the system tenant cannot be deleted")
        with self._engine.updating():
            with self._write() as tx:
                _require_tenant(tx, tenant_id)
                seqs = tx.delete_tenant(tenant_id)
            self._engine.forget(seqs)
        self._record("tenant.delete", tenant_id, memories=len(seqs))

    def suspend_tenant(self, tenant_id: str) -> Tenant:
        if tenant_id == SYSTEM_TENANT:
            raise Forbidden("the system tenant cannot be suspended")
        return self._set_status(tenant_id, TenantStatus.SUSPENDED, "tenant.suspend")

    def activate_tenant(self, tenant_id: str) -> Tenant:
        return self._set_status(tenant_id, TenantStatus.ACTIVE, "tenant.activate")

    def _set_status(self, tenant_id: str, status: TenantStatus, action: str) -> Tenant:
        with self._write() as tx:
            current = _require_tenant(tx, tenant_id)
            updated = current.model_copy(update={"status": status, "updated_at": self._clock()})
            tx.update_tenant(updated)
        self._record(action, tenant_id)
        return updated

    def tenant_usage(self, tenant_id: str) -> TenantUsage:
        now = self._clock()
        with self._store.read() as tx:
            tenant = _require_tenant(tx, tenant_id)
            memories, storage = tx.tenant_usage(tenant_id)
            namespaces = tx.count_namespaces(tenant_id)
        usage = Usage(
            tenant_id=tenant_id,
            memory_count=memories,
            namespace_count=namespaces,
            storage_bytes=storage,
            requests_today=self._meter.requests_today(tenant_id, now.date()),
            last_updated=now,
        )
        return TenantUsage(tenant=tenant, usage=usage)

    def usage_by_tenant(self, limit: int = 1000) -> dict[str, tuple[int, int]]:
        """(memories, storage bytes) of each tenant (the first ``limit`` tenants)."""
        with self._store.read() as tx:
            return {t.id: tx.tenant_usage(t.id) for t in tx.list_tenants(Page(limit=limit))}

    # -- API keys ------------------------------------------------------------------------

    def create_api_key(self, tenant_id: str, data: ApiKeyCreate) -> ApiKeyCreated:
        """A new key for the tenant; the plain key is in the result and nowhere else."""
        default = data.default_namespace
        if (
            default is not None
            and data.namespaces
            and not namespace_allowed(data.namespaces, default)
        ):
            raise InvalidInput(
                "invalid default_namespace: it is not among the key's namespaces",
                field="default_namespace",
            )
        raw = generate_key()
        record = ApiKey(
            key=hash_key(raw),
            tenant_id=tenant_id,
            name=data.name,
            scopes=list(dict.fromkeys(data.scopes)),
            namespaces=list(dict.fromkeys(data.namespaces)),
            default_namespace=data.default_namespace,
            expires_at=data.expires_at or ApiKey.model_fields["expires_at"].default,
            created_at=self._clock(),
            metadata=data.metadata or None,
        )
        with self._write() as tx:
            _require_tenant(tx, tenant_id)
            tx.insert_api_key(record)
        self._record(
            "key.create",
            record.key[:12],
            key_tenant=tenant_id,
            name=record.name,
            scopes=[s.value for s in record.scopes],
        )
        return ApiKeyCreated(api_key=record, key=raw)

    def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        with self._store.read() as tx:
            _require_tenant(tx, tenant_id)
            return tx.list_api_keys(tenant_id)

    def revoke_api_key(self, key: str) -> ApiKey:
        """Revokes by plain key or by its id (the SHA-256 hex that listings show)."""
        key_hash = key if is_key_hash(key) else hash_key(key)
        with self._write() as tx:
            record = tx.get_api_key(key_hash)
            if record is None or not tx.revoke_api_key(key_hash, self._clock()):
                raise NotFound("api key not found")
        self._record("key.revoke", key_hash[:12], key_tenant=record.tenant_id, name=record.name)
        return record

    def verify_api_key(self, raw: str) -> ApiKey | None:
        """The usable key record for a presented key, else None (unknown, revoked,
        expired)."""
        key_hash = hash_key(raw)
        with self._store.read() as tx:
            record = tx.get_api_key(key_hash)
        if record is None or not hmac.compare_digest(record.key, key_hash):
            return None
        if record.revoked_at is not None or record.expired(self._clock()):
            return None
        return record

    def has_api_keys(self) -> bool:
        """True when any key could authenticate (then the server requires one)."""
        with self._store.read() as tx:
            return tx.count_usable_api_keys(self._clock()) > 0

    def note_request(self, tenant_id: str, key_hash: str | None) -> None:
        """Counts a request of the tenant (and the key's use), in memory."""
        self._meter.request(tenant_id, self._clock(), key_hash)

    def flush_key_usage(self) -> int:
        """Writes the keys' last-used times gathered since the last flush."""
        used = self._meter.take_key_uses()
        if used:
            with self._write() as tx:
                tx.set_keys_last_used(used)
        return len(used)


def _require_tenant(tx: StoreReader, tenant_id: str) -> Tenant:
    tenant = tx.get_tenant(tenant_id)
    if tenant is None:
        raise NotFound(f"tenant not found: {tenant_id}")
    return tenant
