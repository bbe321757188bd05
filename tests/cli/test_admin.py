"""`maia admin` on a local data dir (bootstrap) and against a live server."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
from typer.testing import CliRunner

from maia import Maia
from maia.cli import app
from tests.conftest import LiveServer

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def test_bootstrap_a_key_locally_then_the_server_requires_it(
    tmp_path: Path, make_settings: Callable[..., object], serve: Callable[..., LiveServer]
) -> None:
    data = tmp_path / "store"
    out = invoke("admin", "key", "create", "--data-dir", str(data), "--name", "ops")
    key = out.strip().splitlines()[-1]
    assert re.fullmatch(r"maia_[0-9a-f]{64}", key)

    maia = Maia.open(settings=make_settings(data_dir=data))  # type: ignore[arg-type]
    server = serve(maia)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/v1/stats").status_code == 401, "a stored key turns auth on"
        assert http.get("/v1/stats", headers={"X-API-Key": key}).status_code == 200
        assert http.get("/admin/tenants", headers={"X-API-Key": key}).status_code == 200


def test_local_tenant_lifecycle(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "store")]
    tenant = json.loads(
        invoke("admin", "tenant", "create", "acme", "--plan", "standard", "--json", *data)
    )
    assert tenant["plan"] == "standard"
    tid = tenant["id"]
    listed = json.loads(invoke("admin", "tenant", "list", "--json", *data))
    assert {t["name"] for t in listed} == {"system", "acme"}
    updated = json.loads(
        invoke("admin", "tenant", "update", tid, "--max-memories", "7", "--json", *data)
    )
    assert updated["quotas"]["max_memories"] == 7
    assert updated["quotas"]["requests_per_minute"] == 600, "other quotas kept"
    assert json.loads(invoke("admin", "tenant", "suspend", tid, "--json", *data))["status"] == (
        "suspended"
    )
    assert json.loads(invoke("admin", "tenant", "activate", tid, "--json", *data))["status"] == (
        "active"
    )
    usage = json.loads(invoke("admin", "tenant", "usage", tid, *data))
    assert usage["usage"]["memory_count"] == 0
    key = json.loads(
        invoke(
            "admin", "key", "create", "--tenant", tid, "--scopes", "read,search", "--json", *data
        )
    )
    assert key["api_key"]["scopes"] == ["read", "search"]
    keys = json.loads(invoke("admin", "key", "list", "--tenant", tid, "--json", *data))
    assert [k["key"] for k in keys] == [key["api_key"]["key"]]
    assert "Revoked" in invoke("admin", "key", "revoke", key["api_key"]["key"], *data)
    events = json.loads(invoke("admin", "audit", "--json", *data))
    assert events[0]["action"] == "key.revoke"
    assert events[0]["actor"] == "cli"
    assert "Deleted tenant" in invoke("admin", "tenant", "delete", tid, *data)
    table = invoke("admin", "tenant", "list", *data)
    assert "system" in table
    assert "acme" not in table


def test_local_errors_exit_non_zero(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "store")]
    result = runner.invoke(app, ["admin", "tenant", "get", "nope", *data])
    assert result.exit_code == 3
    assert "Error: failed to get tenant: tenant not found: nope (NOT_FOUND)" in result.stderr
    bad = runner.invoke(app, ["admin", "key", "create", "--scopes", "root", *data])
    assert bad.exit_code == 2
    assert "scopes" in bad.stderr
    nothing = runner.invoke(app, ["admin", "tenant", "update", "system", *data])
    assert nothing.exit_code == 2
    assert "no updates specified" in nothing.stderr


def test_against_a_server(serve: Callable[..., LiveServer]) -> None:
    server = serve(api_key="root-key")
    remote = ["--server", server.url, "--api-key", "root-key"]
    tenant = json.loads(invoke("admin", "tenant", "create", "beta", "--json", *remote))
    key = invoke("admin", "key", "create", "--tenant", tenant["id"], "--scopes", "*", *remote)
    key = key.strip().splitlines()[-1]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        created = http.post(
            "/v1/memories", json={"namespace": "n", "content": "x"}, headers={"X-API-Key": key}
        )
        assert created.status_code == 201
    usage = json.loads(invoke("admin", "tenant", "usage", tenant["id"], *remote))
    assert usage["usage"]["memory_count"] == 1
    keys = json.loads(invoke("admin", "key", "list", "--tenant", tenant["id"], "--json", *remote))
    assert len(keys) == 1
    invoke("admin", "key", "revoke", key, *remote)
    events = json.loads(invoke("admin", "audit", "--action", "key.", "--json", *remote))
    assert [e["action"] for e in events] == ["key.revoke", "key.create"]

    denied = runner.invoke(
        app, ["admin", "tenant", "list", "--server", server.url, "--api-key", "wrong"]
    )
    assert denied.exit_code == 4
    assert "invalid API key" in denied.stderr
    missing = runner.invoke(app, ["admin", "tenant", "get", "nope", *remote])
    assert missing.exit_code == 3, "the same status as on a data dir"
