"""``maia admin``: tenants, API keys and the audit log, on a local data dir or a server.

With ``--server`` (or ``MAIA_URL`` and no ``--data-dir``) the commands call the admin
API with an admin key; otherwise they open the embedded store directly, which is how
the first key is made: ``maia admin key create --data-dir DIR --scopes '*'``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Protocol

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from maia.cli.main import ConfigOption, DataDirOption, app, open_local
from maia.cli.remote import (
    ApiKeyOption,
    JsonOption,
    ServerOption,
    connect,
    local_exit_code,
    reporting,
    usage_error,
)
from maia.errors import InvalidInput, MaiaError

if TYPE_CHECKING:
    from maia.client import Client
    from maia.service import Maia

admin_app = typer.Typer(help="Tenants, API keys and the audit log.", no_args_is_help=True)
tenant_app = typer.Typer(
    help="Create, list, change, suspend and delete tenants.", no_args_is_help=True
)
key_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
admin_app.add_typer(tenant_app, name="tenant")
admin_app.add_typer(key_app, name="key")
app.add_typer(admin_app, name="admin")

err_console = Console(stderr=True)
JSON = dict[str, Any]

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="Tenant id (default: system)")]


def _split(values: str | None) -> list[str]:
    return [v.strip() for v in (values or "").split(",") if v.strip()]


def _quotas(
    max_memories: int | None,
    max_storage_bytes: int | None,
    requests_per_minute: int | None,
    requests_per_day: int | None,
) -> JSON:
    given = {
        "max_memories": max_memories,
        "max_storage_bytes": max_storage_bytes,
        "requests_per_minute": requests_per_minute,
        "requests_per_day": requests_per_day,
    }
    return {k: v for k, v in given.items() if v is not None}


class AdminTarget(Protocol):
    """The admin operations, as JSON objects, on a local store or a server."""

    def call(self, action: str, op: str, /, *args: Any, **kwargs: Any) -> Any: ...


class LocalAdmin:
    def __init__(self, maia: Maia) -> None:
        self.maia = maia

    def call(self, action: str, op: str, /, *args: Any, **kwargs: Any) -> Any:
        from maia.models import ApiKeyCreate, TenantCreate, TenantUpdate
        from maia.security.audit import AuditQuery

        maia = self.maia
        try:
            match op:
                case "create_tenant":
                    result: Any = maia.create_tenant(TenantCreate.model_validate(kwargs))
                case "update_tenant":
                    result = maia.update_tenant(args[0], TenantUpdate.model_validate(kwargs))
                case "create_api_key":
                    result = maia.create_api_key(args[0], ApiKeyCreate.model_validate(kwargs))
                case "list_tenants":
                    from maia.models import Page

                    page = Page.clamp(kwargs.pop("limit", None), kwargs.pop("offset", None))
                    result = maia.list_tenants(page, **kwargs)
                case "audit":
                    if maia.audit is None:
                        raise InvalidInput("the audit log is disabled (audit_log = false)")
                    return maia.audit.query(AuditQuery(**kwargs))
                case _:
                    result = getattr(maia, op)(*args, **kwargs)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"])
            _local_failure(action, InvalidInput(f"invalid {field}: {error['msg']}", field=field))
        except MaiaError as exc:
            _local_failure(action, exc)
        return _plain(result)


def _local_failure(action: str, exc: MaiaError) -> NoReturn:
    """The same error line and exit status as against a server."""
    err_console.print(
        f"Error: failed to {action}: {exc.message} ({exc.code})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(local_exit_code(exc))


class RemoteAdmin:
    def __init__(self, client: Client) -> None:
        self.client = client

    def call(self, action: str, op: str, /, *args: Any, **kwargs: Any) -> Any:
        if op == "audit":
            op = "audit_events"
        with reporting(action):
            result = getattr(self.client, op)(*args, **kwargs)
        if hasattr(result, "data"):  # a ListResponse
            result = result.data
        return _plain(result)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    dump: Callable[..., Any] | None = getattr(value, "model_dump", None)
    return dump(mode="json") if dump is not None else value


@contextlib.contextmanager
def admin_target(
    server: str | None, api_key: str | None, data_dir: Path | None, config: Path | None
) -> Iterator[AdminTarget]:
    if server or (os.environ.get("MAIA_URL") and data_dir is None):
        with connect(server, api_key) as client:
            yield RemoteAdmin(client)
        return
    from maia.models import SYSTEM_TENANT
    from maia.security.principal import Principal

    with open_local(config, data_dir) as maia:
        yield LocalAdmin(maia.for_principal(Principal(SYSTEM_TENANT, "cli")))


def _print(result: Any, as_json: bool, columns: Sequence[str] = ()) -> None:
    if as_json or not columns:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    rows = result if isinstance(result, list) else [result]
    table = Table(*(c.upper() for c in columns))
    for row in rows:
        table.add_row(*(_cell(row, c) for c in columns))
    Console().print(table)


def _cell(row: JSON, column: str) -> str:
    value: Any = row
    for part in column.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


TENANT_COLUMNS = ("id", "name", "plan", "status", "quotas.max_memories", "created_at")
KEY_COLUMNS = ("key", "name", "scopes", "namespaces", "expires_at", "last_used_at", "revoked_at")

# -- tenants ------------------------------------------------------------------------------


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(help="Tenant name (unique)")],
    plan: Annotated[str, typer.Option(help="free, standard or premium")] = "free",
    max_memories: Annotated[int | None, typer.Option(help="Quota (0: unlimited)")] = None,
    max_storage_bytes: Annotated[int | None, typer.Option(help="Quota (0: unlimited)")] = None,
    requests_per_minute: Annotated[int | None, typer.Option(help="Quota (0: unlimited)")] = None,
    requests_per_day: Annotated[int | None, typer.Option(help="Quota (0: unlimited)")] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a tenant (quotas default to the plan's)."""
    body: JSON = {"name": name, "plan": plan}
    quotas = _quotas(max_memories, max_storage_bytes, requests_per_minute, requests_per_day)
    if quotas:
        body["quotas"] = quotas
    with admin_target(server, api_key, data_dir, config) as target:
        result = target.call("create tenant", "create_tenant", **body)
    _print(result, as_json, TENANT_COLUMNS)


@tenant_app.command("list")
def tenant_list(
    status: Annotated[str | None, typer.Option(help="active or suspended")] = None,
    plan: Annotated[str | None, typer.Option(help="free, standard or premium")] = None,
    limit: Annotated[int, typer.Option("--limit", "-l")] = 100,
    offset: Annotated[int, typer.Option("--offset", "-o")] = 0,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List tenants."""
    with admin_target(server, api_key, data_dir, config) as target:
        result = target.call(
            "list tenants", "list_tenants", status=status, plan=plan, limit=limit, offset=offset
        )
    _print(result, as_json, TENANT_COLUMNS)


def _tenant_action(command: str, op: str, action: str, doc: str) -> None:
    def run(
        tenant_id: Annotated[str, typer.Argument(help="Tenant id")],
        server: ServerOption = None,
        api_key: ApiKeyOption = None,
        data_dir: DataDirOption = None,
        config: ConfigOption = None,
        as_json: JsonOption = False,
    ) -> None:
        with admin_target(server, api_key, data_dir, config) as target:
            result = target.call(action, op, tenant_id)
        if op == "delete_tenant":
            typer.echo(f"Deleted tenant: {tenant_id}")
        elif op == "tenant_usage":
            _print(result, True)
        else:
            _print(result, as_json, TENANT_COLUMNS)

    run.__doc__ = doc
    tenant_app.command(command)(run)


_tenant_action("get", "get_tenant", "get tenant", "Show a tenant.")
_tenant_action("usage", "tenant_usage", "get usage", "A tenant's usage (memories, storage...).")
_tenant_action("suspend", "suspend_tenant", "suspend tenant", "Suspend a tenant (403 to its keys).")
_tenant_action("activate", "activate_tenant", "activate tenant", "Reactivate a tenant.")
_tenant_action(
    "delete", "delete_tenant", "delete tenant", "Delete a tenant with ALL its data and keys."
)


@tenant_app.command("update")
def tenant_update(
    tenant_id: Annotated[str, typer.Argument(help="Tenant id")],
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    plan: Annotated[str | None, typer.Option(help="free, standard or premium")] = None,
    max_memories: Annotated[int | None, typer.Option(help="Quota (0: unlimited)")] = None,
    max_storage_bytes: Annotated[int | None, typer.Option(help="Quota (0: unlimited)")] = None,
    requests_per_minute: Annotated[int | None, typer.Option(help="Quota (0: unlimited)")] = None,
    requests_per_day: Annotated[int | None, typer.Option(help="Quota (0: unlimited)")] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a tenant's name, plan or quotas (quotas not given keep their value)."""
    changes = _quotas(max_memories, max_storage_bytes, requests_per_minute, requests_per_day)
    body: JSON = {k: v for k, v in {"name": name, "plan": plan}.items() if v is not None}
    with admin_target(server, api_key, data_dir, config) as target:
        if changes:
            current = target.call("get tenant", "get_tenant", tenant_id)
            body["quotas"] = {**current["quotas"], **changes}
        if not body:
            usage_error("no updates specified")
        result = target.call("update tenant", "update_tenant", tenant_id, **body)
    _print(result, as_json, TENANT_COLUMNS)


# -- keys ---------------------------------------------------------------------------------


@key_app.command("create")
def key_create(
    tenant: TenantOption = "system",
    name: Annotated[str, typer.Option("--name", help="What the key is for")] = "default",
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: read,write,delete,search,context,stats,admin,*")
    ] = "*",
    namespaces: Annotated[
        str | None, typer.Option(help="Comma-separated namespace patterns (default: all)")
    ] = None,
    default_namespace: Annotated[str | None, typer.Option(help="Namespace when none given")] = None,
    expires_at: Annotated[str | None, typer.Option(help="RFC 3339 expiry")] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key and print it (this once: only its hash is stored)."""
    body: JSON = {"scopes": _split(scopes), "namespaces": _split(namespaces)}
    if default_namespace:
        body["default_namespace"] = default_namespace
    if expires_at:
        body["expires_at"] = expires_at
    with admin_target(server, api_key, data_dir, config) as target:
        result = target.call("create api key", "create_api_key", tenant, name=name, **body)
    if as_json:
        _print(result, True)
        return
    typer.echo(result["key"])
    err_console.print(
        f"API key {result['api_key']['name']!r} for tenant {tenant}: store it now, "
        "it cannot be shown again.",
        highlight=False,
    )


@key_app.command("list")
def key_list(
    tenant: TenantOption = "system",
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a tenant's keys (ids are SHA-256 hashes; secrets are never stored)."""
    with admin_target(server, api_key, data_dir, config) as target:
        result = target.call("list api keys", "list_api_keys", tenant)
    _print(result, as_json, KEY_COLUMNS)


@key_app.command("revoke")
def key_revoke(
    key: Annotated[str, typer.Argument(help="The key, or its id (hash) from `key list`")],
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke an API key; it stops working at once (other servers: within seconds)."""
    with admin_target(server, api_key, data_dir, config) as target:
        target.call("revoke api key", "revoke_api_key", key)
    typer.echo(f"Revoked API key: {key[:12]}...")


@admin_app.command("audit")
def audit(
    action: Annotated[str | None, typer.Option(help="An action, or a prefix like memory.")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None,
    limit: Annotated[int, typer.Option("--limit", "-l")] = 50,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show audit events, newest first."""
    with admin_target(server, api_key, data_dir, config) as target:
        result = target.call(
            "read audit log", "audit", action=action, tenant_id=tenant, limit=limit
        )
    _print(result, as_json, ("time", "action", "tenant_id", "actor", "target", "outcome"))
