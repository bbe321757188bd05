"""SQL for tenants, API keys and usage counters (part of ``SQLiteSession``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import datetime

from maia.errors import AlreadyExists
from maia.models import (
    ZERO_TIME,
    ApiKey,
    Page,
    Plan,
    Scope,
    Tenant,
    TenantConfig,
    TenantQuotas,
    TenantStatus,
)
from maia.store.timestamps import from_micros, to_micros

_TENANT_COLUMNS = "id, name, plan, status, config, quotas, metadata, created_at, updated_at"
_KEY_COLUMNS = (
    "key_hash, tenant_id, name, scopes, namespaces, default_namespace, expires_at, "
    "created_at, last_used_at, revoked_at, metadata"
)


def _tenant(row: sqlite3.Row) -> Tenant:
    return Tenant(
        id=row[0],
        name=row[1],
        plan=Plan(row[2]),
        status=TenantStatus(row[3]),
        config=TenantConfig.model_validate_json(row[4]),
        quotas=TenantQuotas.model_validate_json(row[5]),
        metadata=json.loads(row[6]) if row[6] else None,
        created_at=from_micros(row[7]),
        updated_at=from_micros(row[8]),
    )


def _optional_time(value: int | None, default: datetime | None) -> datetime | None:
    return default if value is None else from_micros(value)


def _api_key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        key=row[0],
        tenant_id=row[1],
        name=row[2],
        scopes=[Scope(s) for s in json.loads(row[3])],
        namespaces=json.loads(row[4]),
        default_namespace=row[5],
        expires_at=_optional_time(row[6], ZERO_TIME) or ZERO_TIME,
        created_at=from_micros(row[7]),
        last_used_at=_optional_time(row[8], ZERO_TIME) or ZERO_TIME,
        revoked_at=_optional_time(row[9], None),
        metadata=json.loads(row[10]) if row[10] else None,
    )


def _tenant_values(tenant: Tenant) -> tuple[object, ...]:
    return (
        tenant.name,
        tenant.plan.value,
        tenant.status.value,
        tenant.config.model_dump_json(),
        tenant.quotas.model_dump_json(),
        json.dumps(tenant.metadata) if tenant.metadata else None,
        to_micros(tenant.created_at),
        to_micros(tenant.updated_at),
    )


class TenantSQL:
    """Tenants and keys are not tenant-scoped rows of data: they define the tenants."""

    _conn: sqlite3.Connection

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = self._conn.execute(
            f"SELECT {_TENANT_COLUMNS} FROM tenants WHERE id = ?", (tenant_id,)
        ).fetchone()
        return None if row is None else _tenant(row)

    def list_tenants(
        self, page: Page, *, status: str | None = None, plan: str | None = None
    ) -> list[Tenant]:
        where, params = self._tenant_filter(status, plan)
        rows = self._conn.execute(
            f"SELECT {_TENANT_COLUMNS} FROM tenants {where} "
            "ORDER BY created_at, id LIMIT ? OFFSET ?",
            (*params, page.limit, page.offset),
        )
        return [_tenant(row) for row in rows]

    def count_tenants(self, *, status: str | None = None, plan: str | None = None) -> int:
        where, params = self._tenant_filter(status, plan)
        return int(
            self._conn.execute(f"SELECT count(*) FROM tenants {where}", params).fetchone()[0]
        )

    @staticmethod
    def _tenant_filter(status: str | None, plan: str | None) -> tuple[str, tuple[str, ...]]:
        clauses, params = [], []
        if status:
            clauses.append("status = ?")
            params.append(status)
        if plan:
            clauses.append("plan = ?")
            params.append(plan)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def insert_tenant(self, tenant: Tenant) -> None:
        try:
            self._conn.execute(
                f"INSERT INTO tenants ({_TENANT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (tenant.id, *_tenant_values(tenant)),
            )
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"tenant already exists: {tenant.name}") from exc

    def update_tenant(self, tenant: Tenant) -> None:
        try:
            self._conn.execute(
                "UPDATE tenants SET name = ?, plan = ?, status = ?, config = ?, quotas = ?, "
                "metadata = ?, created_at = ?, updated_at = ? WHERE id = ?",
                (*_tenant_values(tenant), tenant.id),
            )
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"tenant already exists: {tenant.name}") from exc

    def delete_tenant(self, tenant_id: str) -> list[int]:
        """Deletes the tenant, its keys and all its data; returns the deleted memory keys."""
        seqs = [
            int(row[0])
            for row in self._conn.execute(
                "SELECT seq FROM memories WHERE tenant_id = ?", (tenant_id,)
            )
        ]
        self._conn.execute("DELETE FROM relations WHERE tenant_id = ?", (tenant_id,))
        self._conn.execute("DELETE FROM memories WHERE tenant_id = ?", (tenant_id,))
        self._conn.execute("DELETE FROM namespaces WHERE tenant_id = ?", (tenant_id,))
        self._conn.execute("DELETE FROM api_keys WHERE tenant_id = ?", (tenant_id,))
        self._conn.execute("DELETE FROM tenant_usage WHERE tenant_id = ?", (tenant_id,))
        self._conn.execute("DELETE FROM tenants WHERE id = ?", (tenant_id,))
        return seqs

    def tenant_usage(self, tenant_id: str) -> tuple[int, int]:
        """(memory count, storage bytes: memories' content, metadata and tags, and
        relations' metadata)."""
        row = self._conn.execute(
            "SELECT memory_count, storage_bytes FROM tenant_usage WHERE tenant_id = ?",
            (tenant_id,),
        ).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def insert_api_key(self, key: ApiKey) -> None:
        self._conn.execute(
            f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.key,
                key.tenant_id,
                key.name,
                json.dumps([s.value for s in key.scopes]),
                json.dumps(key.namespaces),
                key.default_namespace,
                None if key.expires_at == ZERO_TIME else to_micros(key.expires_at),
                to_micros(key.created_at),
                None,
                None,
                json.dumps(key.metadata) if key.metadata else None,
            ),
        )

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        row = self._conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,)
        ).fetchone()
        return None if row is None else _api_key(row)

    def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        rows = self._conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? "
            "ORDER BY created_at, key_hash",
            (tenant_id,),
        )
        return [_api_key(row) for row in rows]

    def revoke_api_key(self, key_hash: str, at: datetime) -> bool:
        cursor = self._conn.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL",
            (to_micros(at), key_hash),
        )
        return cursor.rowcount > 0

    def count_usable_api_keys(self, now: datetime) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (to_micros(now),),
        ).fetchone()
        return int(row[0])

    def set_keys_last_used(self, used: Mapping[str, datetime]) -> None:
        self._conn.executemany(
            "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) "
            "WHERE key_hash = ?",
            [(to_micros(at), key_hash) for key_hash, at in used.items()],
        )
