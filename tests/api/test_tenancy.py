"""Tenants over real HTTP: isolation, suspension, the tenant header, quotas (also under
concurrency), per-key and per-tenant rate limits, and the admin API's wire shapes."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, running_server
from tests.mcp.conftest import http_client, run

ROOT = {"X-API-Key": "root-key"}
KEY_FORMAT = re.compile(r"maia_[0-9a-f]{64}")


def make_tenant(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post(
        "/admin/tenants", json={"name": f"t-{uuid.uuid4().hex[:8]}", **body}, headers=ROOT
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def make_key(http: httpx.Client, tenant: str, **body: Any) -> dict[str, str]:
    response = http.post(
        f"/admin/tenants/{tenant}/apikeys", json={"name": "k", **body}, headers=ROOT
    )
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["key"]}


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with running_server(
        tmp_path_factory.mktemp("tenancy"), api_key="root-key", sqlite_synchronous="normal"
    ) as client:
        yield client


# -- admin API shapes ----------------------------------------------------------------------


def test_tenant_and_key_wire_shapes(http: httpx.Client) -> None:
    tenant = make_tenant(http, plan="standard", metadata={"team": "a"})
    assert tenant["status"] == "active"
    assert tenant["quotas"] == {
        "max_memories": 100000,
        "max_storage_bytes": 10 * 1024**3,
        "requests_per_minute": 600,
        "requests_per_day": 100000,
    }
    assert tenant["config"]["default_token_budget"] == 4000
    assert tenant["metadata"] == {"team": "a"}

    created = http.post(
        f"/admin/tenants/{tenant['id']}/apikeys",
        json={"name": "svc", "scopes": ["read", "write"]},
        headers=ROOT,
    )
    assert created.status_code == 201
    body = created.json()
    assert KEY_FORMAT.fullmatch(body["key"])
    record = body["api_key"]
    assert len(record["key"]) == 64
    assert record["key"] != body["key"]
    assert record["expires_at"] == "0001-01-01T00:00:00Z"
    assert record["last_used_at"] == "0001-01-01T00:00:00Z"

    listed = http.get(f"/admin/tenants/{tenant['id']}/apikeys", headers=ROOT).json()
    assert listed["offset"] == listed["limit"] == 0
    assert [k["key"] for k in listed["data"]] == [record["key"]]
    assert body["key"] not in json.dumps(listed), "the secret is never listed"

    usage = http.get(f"/admin/tenants/{tenant['id']}/usage", headers=ROOT).json()
    assert usage["tenant"]["id"] == tenant["id"]
    assert set(usage["usage"]) == {
        "tenant_id",
        "memory_count",
        "namespace_count",
        "storage_bytes",
        "requests_today",
        "last_updated",
    }


def test_admin_errors(http: httpx.Client) -> None:
    name = f"dup-{uuid.uuid4().hex[:6]}"
    assert http.post("/admin/tenants", json={"name": name}, headers=ROOT).status_code == 201
    duplicate = http.post("/admin/tenants", json={"name": name}, headers=ROOT)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "ALREADY_EXISTS"
    assert http.delete("/admin/tenants/system", headers=ROOT).status_code == 403
    assert http.post("/admin/tenants/system/suspend", headers=ROOT).status_code == 403
    assert http.get("/admin/tenants/nope", headers=ROOT).status_code == 404
    unknown = http.post("/admin/tenants/nope/apikeys", json={"name": "k"}, headers=ROOT)
    assert unknown.status_code == 404, "not the original's 500"
    bad_scope = http.post(
        "/admin/tenants/system/apikeys", json={"name": "k", "scopes": ["root"]}, headers=ROOT
    )
    assert bad_scope.status_code == 400
    bad_time = http.post(
        "/admin/tenants/system/apikeys", json={"name": "k", "expires_at": "soon"}, headers=ROOT
    )
    assert bad_time.status_code == 400
    assert "RFC3339" in bad_time.text
    assert http.delete("/admin/apikeys/maia_unknown", headers=ROOT).status_code == 404
    assert http.post("/admin/tenants", json={}, headers=ROOT).status_code == 400


# -- isolation -------------------------------------------------------------------------------


def test_two_tenants_with_the_same_names_never_see_each_other(http: httpx.Client) -> None:
    a, b = make_tenant(http), make_tenant(http)
    key_a, key_b = make_key(http, a["id"]), make_key(http, b["id"])
    ids: dict[str, set[str]] = {"a": set(), "b": set()}
    for label, key in (("a", key_a), ("b", key_b)):
        assert http.post("/v1/namespaces", json={"name": "shared"}, headers=key).status_code == 201
        for text in ("the launch code is blue", "lunch is at noon"):
            response = http.post(
                "/v1/memories", json={"namespace": "shared", "content": text}, headers=key
            )
            assert response.status_code == 201
            ids[label].add(response.json()["id"])

    for label, key, other in (("a", key_a, "b"), ("b", key_b, "a")):
        seen = json.dumps(
            [
                http.post("/v1/memories/search", json={"query": "launch code"}, headers=key).json(),
                http.get("/v1/namespaces/shared/memories", headers=key).json(),
                http.get("/v1/memories", headers=key).json(),
                http.post(
                    "/v1/context", json={"query": "launch", "namespace": "shared"}, headers=key
                ).json(),
                http.get("/v1/stats", headers=key).json(),
            ]
        )
        assert all(i in seen for i in ids[label])
        assert not any(i in seen for i in ids[other]), f"{label} saw {other}'s data"
        for foreign in ids[other]:
            assert http.get(f"/v1/memories/{foreign}", headers=key).status_code == 404
            assert http.delete(f"/v1/memories/{foreign}", headers=key).status_code == 404
            assert (
                http.put(f"/v1/memories/{foreign}", json={"content": "x"}, headers=key).status_code
                == 404
            )
        assert http.get("/v1/stats", headers=key).json()["total_memories"] == 2
        tenant_id = (a if label == "a" else b)["id"]
        exported = http.get("/v1/export", headers={**ROOT, "X-MAIA-Tenant-ID": tenant_id})
        assert exported.status_code == 200, exported.text
        assert all(i in exported.text for i in ids[label])
        assert not any(i in exported.text for i in ids[other]), f"{label}'s export has {other}'s"

    url = str(http.base_url).rstrip("/")

    async def over_mcp() -> None:
        async with http_client(url, headers=key_a) as client:
            found = await client.call_tool(
                "recall", {"query": "launch code", "namespace": "shared"}
            )
            listed = await client.call_tool("list_memories", {"namespace": "shared"})
            text = json.dumps([found.structured_content, listed.structured_content])
            assert all(i in text for i in ids["a"])
            assert not any(i in text for i in ids["b"])

    run(over_mcp)


def test_tenant_header_is_for_admin_keys_only(http: httpx.Client) -> None:
    tenant = make_tenant(http)
    key = make_key(http, tenant["id"])
    other = make_tenant(http)
    http.post("/v1/memories", json={"namespace": "n", "content": "mine"}, headers=key)

    refused = http.get("/v1/stats", headers={**key, "X-MAIA-Tenant-ID": other["id"]})
    assert refused.status_code == 403
    as_admin = http.get("/v1/stats", headers={**ROOT, "X-MAIA-Tenant-ID": tenant["id"]})
    assert as_admin.status_code == 200
    assert as_admin.json()["total_memories"] == 1
    unknown = http.get("/v1/stats", headers={**ROOT, "X-MAIA-Tenant-ID": "no-such"})
    assert unknown.status_code == 401
    assert unknown.json() == {"error": "invalid tenant", "code": "INVALID_TENANT"}  # §2.2


def test_suspended_tenant_gets_403_until_activated(http: httpx.Client) -> None:
    tenant = make_tenant(http)
    key = make_key(http, tenant["id"])
    assert http.get("/v1/stats", headers=key).status_code == 200
    assert http.post(f"/admin/tenants/{tenant['id']}/suspend", headers=ROOT).json()["status"] == (
        "suspended"
    )
    for method, path in (("GET", "/v1/stats"), ("POST", "/v1/memories/search"), ("POST", "/mcp")):
        response = http.request(method, path, json={}, headers=key)
        assert response.status_code == 403, path
        assert response.json() == {"error": "tenant is suspended", "code": "TENANT_INACTIVE"}
    assert http.get(f"/admin/tenants/{tenant['id']}", headers=ROOT).status_code == 200
    http.post(f"/admin/tenants/{tenant['id']}/activate", headers=ROOT)
    assert http.get("/v1/stats", headers=key).status_code == 200


def test_deleting_a_tenant_deletes_its_data_and_keys(http: httpx.Client) -> None:
    tenant = make_tenant(http)
    key = make_key(http, tenant["id"])
    memory = http.post("/v1/memories", json={"namespace": "n", "content": "gone"}, headers=key)
    assert memory.status_code == 201
    assert http.delete(f"/admin/tenants/{tenant['id']}", headers=ROOT).status_code == 204
    assert http.get("/v1/stats", headers=key).status_code == 401
    found = http.post(
        "/v1/memories/search",
        json={"query": "gone"},
        headers={**ROOT, "X-MAIA-Tenant-ID": "system"},
    ).json()
    assert memory.json()["id"] not in json.dumps(found)


# -- quotas ----------------------------------------------------------------------------------


def test_memory_quota_allows_n_and_rejects_n_plus_one(http: httpx.Client) -> None:
    tenant = make_tenant(http, quotas={"max_memories": 3})
    key = make_key(http, tenant["id"])
    for i in range(3):
        created = http.post(
            "/v1/memories", json={"namespace": "q", "content": f"m{i}"}, headers=key
        )
        assert created.status_code == 201
    rejected = http.post("/v1/memories", json={"namespace": "q", "content": "x"}, headers=key)
    assert rejected.status_code == 429
    body = rejected.json()
    assert body["error"] == "memory quota exceeded"
    assert body["code"] == "QUOTA_EXCEEDED"
    assert (body["limit"], body["current"]) == (3, 3)
    batch = http.post(
        "/v1/memories/batch",
        json={"memories": [{"namespace": "q", "content": "a"}]},
        headers=key,
    )
    assert batch.status_code == 429
    # Deleting one frees a slot.
    listed = http.get("/v1/memories", params={"namespace": "q"}, headers=key).json()["data"]
    http.delete(f"/v1/memories/{listed[0]['id']}", headers=key)
    assert (
        http.post("/v1/memories", json={"namespace": "q", "content": "y"}, headers=key).status_code
        == 201
    )


def test_memory_quota_holds_under_concurrent_writers(http: httpx.Client) -> None:
    tenant = make_tenant(http, quotas={"max_memories": 10})
    key = make_key(http, tenant["id"])
    statuses: list[int] = []
    lock = threading.Lock()
    url = str(http.base_url)

    def writer(n: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as own:
            for i in range(5):
                response = own.post(
                    "/v1/memories", json={"namespace": "c", "content": f"{n}-{i}"}, headers=key
                )
                with lock:
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [201, 429]
    assert statuses.count(201) == 10
    usage = http.get(f"/admin/tenants/{tenant['id']}/usage", headers=ROOT).json()["usage"]
    assert usage["memory_count"] == 10


def test_storage_quota_counts_bytes(http: httpx.Client) -> None:
    tenant = make_tenant(http, quotas={"max_memories": 100, "max_storage_bytes": 20})
    key = make_key(http, tenant["id"])
    assert (
        http.post(
            "/v1/memories", json={"namespace": "s", "content": "é" * 9}, headers=key
        ).status_code
        == 201
    ), "18 bytes"
    over = http.post("/v1/memories", json={"namespace": "s", "content": "abc"}, headers=key)
    assert over.status_code == 429
    assert (over.json()["error"], over.json()["current"]) == ("storage quota exceeded", 18)
    memory = http.get("/v1/memories", params={"namespace": "s"}, headers=key).json()["data"][0]
    grow = http.put(f"/v1/memories/{memory['id']}", json={"content": "x" * 21}, headers=key)
    assert grow.status_code == 429
    shrink = http.put(f"/v1/memories/{memory['id']}", json={"content": "ab"}, headers=key)
    assert shrink.status_code == 200
    tagged = http.put(f"/v1/memories/{memory['id']}", json={"tags": ["t" * 30]}, headers=key)
    assert tagged.status_code == 429, "tags and metadata count as stored bytes too"
    usage = http.get(f"/admin/tenants/{tenant['id']}/usage", headers=ROOT).json()["usage"]
    assert usage["storage_bytes"] == 2


def test_storage_quota_counts_relation_metadata(http: httpx.Client) -> None:
    tenant = make_tenant(http, quotas={"max_memories": 100, "max_storage_bytes": 40})
    key = make_key(http, tenant["id"])
    ids = [
        http.post("/v1/memories", json={"namespace": "r", "content": c}, headers=key).json()["id"]
        for c in ("one", "two")
    ]  # 6 bytes
    relations = f"/v1/memories/{ids[0]}/relations"
    big = {"target_id": ids[1], "metadata": {"why": "x" * 40}}
    over = http.post(relations, json=big, headers=key)
    assert over.status_code == 429
    assert (over.json()["error"], over.json()["current"]) == ("storage quota exceeded", 6)
    assert http.get(relations, headers=key).json()["data"] == [], "nothing written"
    plain = http.post(relations, json={"target_id": ids[1]}, headers=key)
    assert plain.status_code == 201, "a relation without metadata takes no storage"
    fits = {"target_id": ids[1], "metadata": {"why": "x" * 20}}  # 30 bytes as JSON
    assert http.post(relations, json=fits, headers=key).status_code == 201
    usage = http.get(f"/admin/tenants/{tenant['id']}/usage", headers=ROOT).json()["usage"]
    assert usage["storage_bytes"] == 36
    # Replacing the relation counts only its growth; deleting it frees its bytes.
    same = {"target_id": ids[1], "metadata": {"why": "y" * 24}}  # 34 bytes: +4
    assert http.post(relations, json=same, headers=key).status_code == 201
    assert http.delete(f"{relations}/{ids[1]}", headers=key).status_code == 200
    usage = http.get(f"/admin/tenants/{tenant['id']}/usage", headers=ROOT).json()["usage"]
    assert usage["storage_bytes"] == 6


def test_namespace_quota(http: httpx.Client) -> None:
    tenant = make_tenant(http, config={"default_token_budget": 1000, "max_namespaces": 2})
    key = make_key(http, tenant["id"])
    for name in ("one", "two"):
        assert http.post("/v1/namespaces", json={"name": name}, headers=key).status_code == 201
    third = http.post("/v1/namespaces", json={"name": "three"}, headers=key)
    assert third.status_code == 429
    assert third.json()["error"] == "namespace quota exceeded"


# -- rate limits -----------------------------------------------------------------------------


def test_per_key_limit_answers_429_with_headers(serve: Callable[..., LiveServer]) -> None:
    server = serve(api_key="root-key", key_rate_limit_per_minute=5)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        key = make_key(client, "system", scopes=["read"])
        other = make_key(client, "system", scopes=["read"])
        responses = [client.get("/v1/stats", headers=key) for _ in range(7)]
        assert [r.status_code for r in responses] == [200] * 5 + [429] * 2
        first, limited = responses[0], responses[5]
        assert first.headers["x-ratelimit-limit"] == "5"
        assert first.headers["x-ratelimit-remaining"] == "4"
        assert limited.json() == {
            "error": "rate_limit_exceeded",
            "message": "too many requests, please slow down",
        }
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert int(limited.headers["x-ratelimit-reset"]) <= 60
        assert client.get("/v1/stats", headers=other).status_code == 200, "per key"


def test_tenant_requests_per_minute(http: httpx.Client) -> None:
    tenant = make_tenant(http, quotas={"max_memories": 10, "requests_per_minute": 3})
    key_one, key_two = make_key(http, tenant["id"]), make_key(http, tenant["id"])
    statuses = [http.get("/v1/stats", headers=k).status_code for k in (key_one, key_two) * 3]
    assert statuses == [200, 200, 200, 429, 429, 429], "shared by the tenant's keys"


def test_ip_limit_window_resets(serve: Callable[..., LiveServer]) -> None:
    server = serve(rate_limit_rps=2)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        statuses = [client.get("/health").status_code for _ in range(6)]
        assert statuses[:4] == [200] * 4
        assert 429 in statuses
        time.sleep(2.2)
        assert client.get("/health").status_code == 200, "the window moved on"


def test_revoking_the_last_key_does_not_open_the_server(
    serve: Callable[..., LiveServer],
) -> None:
    """A server with no keys is open (loopback only); once a key exists it needs one,
    and it keeps needing one after the last key is revoked."""
    server = serve(auth_cache_seconds=0)
    with httpx.Client(base_url=server.url, timeout=30) as open_http:
        assert open_http.get("/v1/stats").status_code == 200
        created = open_http.post(
            "/admin/tenants/system/apikeys", json={"name": "only", "scopes": ["*"]}
        )
        assert created.status_code == 201, created.text
        key = {"X-API-Key": created.json()["key"]}
        assert open_http.get("/v1/stats").status_code == 401
        revoked = open_http.delete(f"/admin/apikeys/{created.json()['key']}", headers=key)
        assert revoked.status_code == 204, revoked.text
        for path in ("/v1/stats", "/admin/tenants"):
            response = open_http.get(path)
            assert response.status_code == 401, (path, response.text)
        minted = open_http.post("/admin/tenants/system/apikeys", json={"name": "x"})
        assert minted.status_code == 401


def test_a_tenants_stats_count_its_own_storage_only(http: httpx.Client) -> None:
    tenant = make_tenant(http)
    key = make_key(http, tenant["id"])
    assert http.post("/v1/memories", json={"namespace": "n", "content": "mine"}, headers=key)
    mine = http.get("/v1/stats", headers=key).json()["storage_size_bytes"]
    assert 0 < mine < 10_000
    others = [{"namespace": "n", "content": "x" * 2000} for _ in range(20)]
    assert http.post("/v1/memories/batch", json={"memories": others}, headers=ROOT).is_success
    assert http.get("/v1/stats", headers=key).json()["storage_size_bytes"] == mine
    assert http.get("/v1/stats", headers=ROOT).json()["storage_size_bytes"] > 40_000  # the store


def test_a_limited_keys_stats_count_its_namespaces_only(http: httpx.Client) -> None:
    tenant = make_tenant(http)
    full = make_key(http, tenant["id"])
    limited = make_key(http, tenant["id"], namespaces=["team/alice"])
    writes = [("team/alice", "é" * 10), ("team/alice/notes", "abc"), ("team/bob", "x" * 500)]
    for namespace, content in writes:
        body = {"namespace": namespace, "content": content}
        assert http.post("/v1/memories", json=body, headers=full).status_code == 201
    for name in ("team", "team/alice", "team/bob"):
        assert http.post("/v1/namespaces", json={"name": name}, headers=full).status_code == 201
    assert http.get("/v1/stats", headers=full).json() | {"last_compaction": None} == {
        "total_memories": 3,
        "total_namespaces": 3,
        "storage_size_bytes": 20 + 3 + 500,
        "last_compaction": None,
    }
    # Nothing of team/bob (nor of the team record above the grant) shows through.
    seen = http.get("/v1/stats", headers=limited).json()
    assert (seen["total_memories"], seen["total_namespaces"], seen["storage_size_bytes"]) == (
        2,
        1,
        23,
    )
    # A key granted every namespace by name sees what a full key sees, relations too.
    alice = http.get("/v1/memories", params={"namespace": "team/alice"}, headers=full).json()
    relation = {"target_id": alice["data"][0]["id"], "metadata": {"k": "v"}}  # 9 bytes
    bob = http.get("/v1/memories", params={"namespace": "team/bob"}, headers=full).json()
    source = bob["data"][0]["id"]
    assert http.post(f"/v1/memories/{source}/relations", json=relation, headers=full).is_success
    everything = make_key(http, tenant["id"], namespaces=["team"])
    assert http.get("/v1/stats", headers=everything).json()["storage_size_bytes"] == 523 + 9
    assert http.get("/v1/stats", headers=full).json()["storage_size_bytes"] == 523 + 9
