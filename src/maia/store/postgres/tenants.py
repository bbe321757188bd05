"""SQL for tenants, API keys and usage counters (part of ``PostgresSession``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow

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

_TENANT_COLUMNS = "id, name, plan, status, config, quotas, metadata, created_at, updated_at"
_KEY_COLUMNS = (
    "key_hash, tenant_id, name, scopes, namespaces, default_namespace, expires_at, "
    "created_at, last_used_at, revoked_at, metadata"
)


def utc(value: datetime) -> datetime:
    """A timestamp as read (the session's time zone is UTC) with the ``datetime.UTC``
    tzinfo the SQLite store returns."""
    return value.replace(tzinfo=UTC)


def _optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def _tenant(row: TupleRow) -> Tenant:
    return Tenant(
        id=row[0],
        name=row[1],
        plan=Plan(row[2]),
        status=TenantStatus(row[3]),
        config=TenantConfig.model_validate_json(row[4]),
        quotas=TenantQuotas.model_validate_json(row[5]),
        metadata=json.loads(row[6]) if row[6] else None,
        created_at=utc(row[7]),
        updated_at=utc(row[8]),
    )


def _api_key(row: TupleRow) -> ApiKey:
    return ApiKey(
        key=row[0],
        tenant_id=row[1],
        name=row[2],
        scopes=[Scope(s) for s in json.loads(row[3])],
        namespaces=json.loads(row[4]),
        default_namespace=row[5],
        expires_at=_optional_utc(row[6]) or ZERO_TIME,
        created_at=utc(row[7]),
        last_used_at=_optional_utc(row[8]) or ZERO_TIME,
        revoked_at=_optional_utc(row[9]),
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
        tenant.created_at,
        tenant.updated_at,
    )


def has_nul(*values: str) -> bool:
    """PostgreSQL text cannot hold NUL: a key containing one matches no row."""
    return any("\x00" in value for value in values)


class TenantSQL:
    """Tenants and keys are not tenant-scoped rows of data: they define the tenants."""

    _conn: psycopg.Connection[TupleRow]
    _writable: bool

    def _savepoint_unique(self, sql: str, params: Any, message: str) -> None:
        """Runs ``sql``; a unique violation becomes ``AlreadyExists`` and, thanks to the
        savepoint, leaves the transaction usable (as a failed statement does in SQLite)."""
        self._conn.execute("SAVEPOINT maia_unique")
        try:
            self._conn.execute(sql, params)
        except psycopg.errors.UniqueViolation as exc:
            self._conn.execute("ROLLBACK TO SAVEPOINT maia_unique")
            raise AlreadyExists(message) from exc
        self._conn.execute("RELEASE SAVEPOINT maia_unique")

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        if has_nul(tenant_id):
            return None
        # In a write, read-modify-write of a tenant is safe across nodes: the row is locked.
        lock = " FOR NO KEY UPDATE" if self._writable else ""
        row = self._conn.execute(
            f"SELECT {_TENANT_COLUMNS} FROM tenants WHERE id = %s{lock}", (tenant_id,)
        ).fetchone()
        return None if row is None else _tenant(row)

    def list_tenants(
        self, page: Page, *, status: str | None = None, plan: str | None = None
    ) -> list[Tenant]:
        where, params = self._tenant_filter(status, plan)
        rows = self._conn.execute(
            f"SELECT {_TENANT_COLUMNS} FROM tenants {where} "
            "ORDER BY created_at, id LIMIT %s OFFSET %s",
            (*params, page.limit, page.offset),
        )
        return [_tenant(row) for row in rows]

    def count_tenants(self, *, status: str | None = None, plan: str | None = None) -> int:
        where, params = self._tenant_filter(status, plan)
        row = self._conn.execute(f"SELECT count(*) FROM tenants {where}", params).fetchone()
        return 0 if row is None else int(row[0])

    @staticmethod
    def _tenant_filter(status: str | None, plan: str | None) -> tuple[str, tuple[str, ...]]:
        clauses, params = [], []
        if status:
            clauses.append("status = %s")
            params.append(status)
        if plan:
            clauses.append("plan = %s")
            params.append(plan)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def insert_tenant(self, tenant: Tenant) -> None:
        self._savepoint_unique(
            f"INSERT INTO tenants ({_TENANT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (tenant.id, *_tenant_values(tenant)),
            f"tenant already exists: {tenant.name}",
        )

    def update_tenant(self, tenant: Tenant) -> None:
        self._savepoint_unique(
            "UPDATE tenants SET name = %s, plan = %s, status = %s, config = %s, quotas = %s, "
            "metadata = %s, created_at = %s, updated_at = %s WHERE id = %s",
            (*_tenant_values(tenant), tenant.id),
            f"tenant already exists: {tenant.name}",
        )

    def delete_tenant(self, tenant_id: str) -> list[int]:
        """Deletes the tenant, its keys and all its data; returns the deleted memory keys."""
        # Memories first (their relations go by cascade): rows, then the usage row their
        # triggers update, the order every writer locks them in. Relations first locked
        # the usage row before the memories, and could deadlock with a writer.
        rows = self._conn.execute(
            "DELETE FROM memories WHERE tenant_id = %s RETURNING seq", (tenant_id,)
        ).fetchall()
        self._conn.execute("DELETE FROM relations WHERE tenant_id = %s", (tenant_id,))
        self._conn.execute("DELETE FROM namespaces WHERE tenant_id = %s", (tenant_id,))
        self._conn.execute("DELETE FROM api_keys WHERE tenant_id = %s", (tenant_id,))
        self._conn.execute("DELETE FROM tenant_usage WHERE tenant_id = %s", (tenant_id,))
        self._conn.execute("DELETE FROM tenants WHERE id = %s", (tenant_id,))
        return sorted(int(row[0]) for row in rows)

    def tenant_usage(self, tenant_id: str) -> tuple[int, int]:
        """(memory count, storage bytes: memories' content, metadata and tags, and relations'
        metadata).

        In a write the usage row is created if missing and locked until commit, so a
        quota check followed by an insert is safe against writers on other nodes (the
        second one waits, then sees the first one's memories)."""
        if self._writable:
            self._lock_usage(tenant_id)
        row = self._conn.execute(
            "SELECT memory_count, storage_bytes FROM tenant_usage WHERE tenant_id = %s",
            (tenant_id,),
        ).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def _lock_usage(self, tenant_id: str) -> None:
        self._conn.execute(
            "INSERT INTO tenant_usage (tenant_id) VALUES (%s) ON CONFLICT (tenant_id) DO NOTHING",
            (tenant_id,),
        )
        self._conn.execute(
            "SELECT 1 FROM tenant_usage WHERE tenant_id = %s FOR UPDATE", (tenant_id,)
        )

    def insert_api_key(self, key: ApiKey) -> None:
        self._conn.execute(
            f"INSERT INTO api_keys ({_KEY_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                key.key,
                key.tenant_id,
                key.name,
                json.dumps([s.value for s in key.scopes]),
                json.dumps(key.namespaces),
                key.default_namespace,
                None if key.expires_at == ZERO_TIME else key.expires_at,
                key.created_at,
                None,
                None,
                json.dumps(key.metadata) if key.metadata else None,
            ),
        )

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        if has_nul(key_hash):
            return None
        row = self._conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = %s", (key_hash,)
        ).fetchone()
        return None if row is None else _api_key(row)

    def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        rows = self._conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE tenant_id = %s "
            "ORDER BY created_at, key_hash",
            (tenant_id,),
        )
        return [_api_key(row) for row in rows]

    def revoke_api_key(self, key_hash: str, at: datetime) -> bool:
        if has_nul(key_hash):
            return False
        cursor = self._conn.execute(
            "UPDATE api_keys SET revoked_at = %s WHERE key_hash = %s AND revoked_at IS NULL",
            (at, key_hash),
        )
        return cursor.rowcount > 0

    def count_usable_api_keys(self, now: datetime) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > %s)",
            (now,),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def set_keys_last_used(self, used: Mapping[str, datetime]) -> None:
        if not used:
            return
        with self._conn.cursor() as cursor:
            # greatest() ignores NULL: a first use sets it, a stale one never goes back.
            cursor.executemany(
                "UPDATE api_keys SET last_used_at = greatest(last_used_at, %s) WHERE key_hash = %s",
                # In key order: two nodes flushing the same keys lock them alike (no deadlock).
                [(at, key) for key, at in sorted(used.items()) if not has_nul(key)],
            )
