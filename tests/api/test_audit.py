"""The audit log over HTTP: each audited action writes exactly one event, readable through
``GET /admin/audit``; no API key or memory content ever reaches the audit log or the logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer

ROOT = {"X-API-Key": "root-key"}
SECRET_CONTENT = "the vault combination is 31-41-59"


def count(http: httpx.Client, action: str) -> int:
    response = http.get("/admin/audit", params={"action": action, "limit": 1000}, headers=ROOT)
    assert response.status_code == 200, response.text
    return len(response.json()["data"])


def test_each_action_writes_one_event(
    serve: Callable[..., LiveServer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = serve(api_key="root-key", audit_path=tmp_path / "audit" / "events.log")
    http = httpx.Client(base_url=server.url, timeout=30)
    state: dict[str, Any] = {}

    def create_tenant() -> None:
        state["tenant"] = http.post("/admin/tenants", json={"name": "acme"}, headers=ROOT).json()

    def create_key() -> None:
        response = http.post(
            f"/admin/tenants/{state['tenant']['id']}/apikeys", json={"name": "k"}, headers=ROOT
        )
        state["key"] = response.json()["key"]

    def create_memory() -> None:
        response = http.post(
            "/v1/memories", json={"namespace": "n", "content": SECRET_CONTENT}, headers=ROOT
        )
        state["memory"] = response.json()["id"]

    def relate() -> None:
        state["other"] = http.post(
            "/v1/memories", json={"namespace": "n", "content": "other"}, headers=ROOT
        ).json()["id"]
        response = http.post(
            f"/v1/memories/{state['memory']}/relations",
            json={"target_id": state["other"], "type": "supersedes"},
            headers=ROOT,
        )
        assert response.status_code == 201, response.text

    def batch_delete() -> None:
        ids = [
            http.post(
                "/v1/memories", json={"namespace": "n", "content": SECRET_CONTENT}, headers=ROOT
            ).json()["id"]
            for _ in range(2)
        ]
        assert http.post("/v1/memories/batch/delete", json={"ids": ids}, headers=ROOT).is_success

    tenant_path = lambda suffix="": f"/admin/tenants/{state['tenant']['id']}{suffix}"  # noqa: E731
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("tenant.create", create_tenant),
        ("tenant.update", lambda: http.put(tenant_path(), json={"plan": "standard"}, headers=ROOT)),
        ("tenant.suspend", lambda: http.post(tenant_path("/suspend"), headers=ROOT)),
        ("tenant.activate", lambda: http.post(tenant_path("/activate"), headers=ROOT)),
        ("key.create", create_key),
        ("auth.failure", lambda: http.get("/v1/stats", headers={"X-API-Key": "maia_wrong"})),
        (  # a key in the path: the audited path shows it redacted
            "auth.failure",
            lambda: http.delete(
                f"/admin/apikeys/{state['key']}", headers={"X-API-Key": "maia_wrong"}
            ),
        ),
        ("key.revoke", lambda: http.delete(f"/admin/apikeys/{state['key']}", headers=ROOT)),
        ("memory.create", create_memory),
        (
            "memory.update",
            lambda: http.put(
                f"/v1/memories/{state['memory']}",
                json={"content": SECRET_CONTENT + "!"},
                headers=ROOT,
            ),
        ),
        ("relation.create", relate),
        (
            "relation.delete",
            lambda: http.delete(
                f"/v1/memories/{state['memory']}/relations/{state['other']}", headers=ROOT
            ),
        ),
        ("memory.delete", lambda: http.delete(f"/v1/memories/{state['memory']}", headers=ROOT)),
        ("memory.bulk_delete", batch_delete),
        ("namespace.create", lambda: http.post("/v1/namespaces", json={"name": "x"}, headers=ROOT)),
        (
            "namespace.update",
            lambda: http.put(
                "/v1/namespaces/x", json={"config": {"token_budget": 500}}, headers=ROOT
            ),
        ),
        ("namespace.delete", lambda: http.delete("/v1/namespaces/x", headers=ROOT)),
        ("tenant.delete", lambda: http.delete(tenant_path(), headers=ROOT)),
        ("data.export", lambda: http.get("/v1/export", headers=ROOT).raise_for_status()),
    ]
    for action, step in steps:
        before = count(http, action)
        step()
        assert count(http, action) == before + 1, action
    assert count(http, "config.change") == 1, "a namespace config update is a config change"

    failure = http.get("/admin/audit", params={"action": "auth.failure"}, headers=ROOT).json()
    assert failure["data"][0]["outcome"] == "failure"
    assert failure["data"][0]["details"]["reason"] == "invalid API key"
    created = http.get("/admin/audit", params={"action": "memory.create"}, headers=ROOT).json()
    assert created["data"][0]["actor"] == "server-key"
    assert created["data"][0]["tenant_id"] == "system"

    http.close()
    server.stop()
    written = (tmp_path / "audit" / "events.log").read_text()
    # The server's own log lines (the client libraries' lines show what they sent).
    server_logs = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    assert "/admin/apikeys/[redacted]" in server_logs
    for secret in (state["key"], "root-key", SECRET_CONTENT):
        assert secret not in written, secret
        assert secret not in server_logs, secret
    assert all(json.loads(line) for line in written.splitlines())


def test_audit_can_be_turned_off(serve: Callable[..., LiveServer]) -> None:
    server = serve(api_key="root-key", audit_log=False)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        response = http.get("/admin/audit", headers=ROOT)
        assert response.status_code == 400
        assert "disabled" in response.json()["error"]
