"""The authorization matrix, generated from the app's route table: every route declares
a scope; every scope gets exactly the expected status on every route; namespace grants,
expired and revoked keys; the same rules for MCP tools."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from maia import Maia
from maia.api import create_app
from maia.api.auth import scopes_of
from maia.api.guards import PUBLIC_PREFIXES
from maia.mcp.server import TOOL_SCOPES
from maia.models import Scope
from tests.conftest import running_server
from tests.mcp.conftest import http_client, run, text_of

ROOT_KEY = "root-key"
SCOPES = [s for s in Scope if s is not Scope.ALL]


@dataclass
class Env:
    """A server with the static admin key, and helpers that make fresh records."""

    http: httpx.Client
    keys: dict[str, str]

    def root(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers={"X-API-Key": ROOT_KEY}, **kwargs)

    def memory(self, namespace: str = "default") -> str:
        response = self.root(
            "POST", "/v1/memories", json={"namespace": namespace, "content": "matrix memory"}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def namespace(self) -> str:
        name = f"ns-{uuid.uuid4().hex[:8]}"
        assert self.root("POST", "/v1/namespaces", json={"name": name}).status_code == 201
        return name

    def tenant(self) -> str:
        response = self.root("POST", "/admin/tenants", json={"name": f"t-{uuid.uuid4().hex}"})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def key(self, tenant: str = "system", **body: Any) -> str:
        response = self.root(
            "POST", f"/admin/tenants/{tenant}/apikeys", json={"name": "matrix", **body}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["key"])

    def relation(self) -> tuple[str, str]:
        source, target = self.memory(), self.memory()
        response = self.root(
            "POST",
            f"/v1/memories/{source}/relations",
            json={"target_id": target, "type": "related_to"},
        )
        assert response.status_code == 201, response.text
        return source, target


# What each route needs to succeed: (method, path, json) built with fresh records, and
# the success status. A route missing here fails the suite.
Call = tuple[str, str, Any]
ROUTE_CALLS: dict[str, tuple[Callable[[Env], Call], int]] = {
    "POST /v1/memories": (
        lambda e: ("POST", "/v1/memories", {"namespace": "default", "content": "x"}),
        201,
    ),
    "POST /v1/memories/search": (lambda e: ("POST", "/v1/memories/search", {"query": "x"}), 200),
    "POST /v1/memories/batch": (
        lambda e: (
            "POST",
            "/v1/memories/batch",
            {"memories": [{"namespace": "default", "content": "x"}]},
        ),
        201,
    ),
    "POST /v1/memories/batch/delete": (
        lambda e: ("POST", "/v1/memories/batch/delete", {"ids": [e.memory()]}),
        200,
    ),
    "POST /v1/memories/touch": (
        lambda e: ("POST", "/v1/memories/touch", {"ids": [e.memory()]}),
        200,
    ),
    "GET /v1/memories": (lambda e: ("GET", "/v1/memories", None), 200),
    "GET /v1/memories/{memory_id}": (lambda e: ("GET", f"/v1/memories/{e.memory()}", None), 200),
    "PUT /v1/memories/{memory_id}": (
        lambda e: ("PUT", f"/v1/memories/{e.memory()}", {"content": "changed"}),
        200,
    ),
    "DELETE /v1/memories/{memory_id}": (
        lambda e: ("DELETE", f"/v1/memories/{e.memory()}", None),
        200,
    ),
    "POST /v1/memories/{memory_id}/relations": (
        lambda e: (
            "POST",
            f"/v1/memories/{e.memory()}/relations",
            {"target_id": e.memory(), "type": "related_to"},
        ),
        201,
    ),
    "GET /v1/memories/{memory_id}/relations": (
        lambda e: ("GET", f"/v1/memories/{e.memory()}/relations", None),
        200,
    ),
    "DELETE /v1/memories/{memory_id}/relations/{target_id}": (
        lambda e: ("DELETE", "/v1/memories/{}/relations/{}".format(*e.relation()), None),
        200,
    ),
    "GET /v1/memories/{memory_id}/related": (
        lambda e: ("GET", f"/v1/memories/{e.memory()}/related", None),
        200,
    ),
    "POST /v1/namespaces": (
        lambda e: ("POST", "/v1/namespaces", {"name": f"n-{uuid.uuid4().hex}"}),
        201,
    ),
    "GET /v1/namespaces": (lambda e: ("GET", "/v1/namespaces", None), 200),
    "GET /v1/namespaces/{ns}/memories": (
        lambda e: ("GET", "/v1/namespaces/default/memories", None),
        200,
    ),
    "GET /v1/namespaces/{ns}/children": (
        lambda e: ("GET", "/v1/namespaces/default/children", None),
        200,
    ),
    "GET /v1/namespaces/{ns}/effective-config": (
        lambda e: ("GET", "/v1/namespaces/default/effective-config", None),
        200,
    ),
    "GET /v1/namespaces/{ns}": (lambda e: ("GET", "/v1/namespaces/default", None), 200),
    "PUT /v1/namespaces/{ns}": (
        lambda e: ("PUT", f"/v1/namespaces/{e.namespace()}", {"config": {"token_budget": 900}}),
        200,
    ),
    "DELETE /v1/namespaces/{ns}": (
        lambda e: ("DELETE", f"/v1/namespaces/{e.namespace()}", None),
        200,
    ),
    "POST /v1/context": (lambda e: ("POST", "/v1/context", {"query": "x"}), 200),
    "GET /v1/stats": (lambda e: ("GET", "/v1/stats", None), 200),
    "GET /v1/inference/health": (lambda e: ("GET", "/v1/inference/health", None), 200),
    # Inference is not configured: these answer 404 after the scope check.
    "POST /v1/inference/health/{name}": (
        lambda e: ("POST", "/v1/inference/health/openai", None),
        404,
    ),
    "GET /v1/inference/cache/stats": (lambda e: ("GET", "/v1/inference/cache/stats", None), 200),
    "POST /v1/inference/cache/clear": (
        lambda e: ("POST", "/v1/inference/cache/clear", None),
        404,
    ),
    "POST /admin/tenants": (
        lambda e: ("POST", "/admin/tenants", {"name": f"t-{uuid.uuid4().hex}"}),
        201,
    ),
    "GET /admin/tenants": (lambda e: ("GET", "/admin/tenants", None), 200),
    "GET /admin/tenants/{tenant_id}": (lambda e: ("GET", "/admin/tenants/system", None), 200),
    "PUT /admin/tenants/{tenant_id}": (
        lambda e: ("PUT", f"/admin/tenants/{e.tenant()}", {"plan": "standard"}),
        200,
    ),
    "DELETE /admin/tenants/{tenant_id}": (
        lambda e: ("DELETE", f"/admin/tenants/{e.tenant()}", None),
        204,
    ),
    "GET /admin/tenants/{tenant_id}/usage": (
        lambda e: ("GET", "/admin/tenants/system/usage", None),
        200,
    ),
    "POST /admin/tenants/{tenant_id}/suspend": (
        lambda e: ("POST", f"/admin/tenants/{e.tenant()}/suspend", None),
        200,
    ),
    "POST /admin/tenants/{tenant_id}/activate": (
        lambda e: ("POST", f"/admin/tenants/{e.tenant()}/activate", None),
        200,
    ),
    "POST /admin/tenants/{tenant_id}/apikeys": (
        lambda e: ("POST", f"/admin/tenants/{e.tenant()}/apikeys", {"name": "k"}),
        201,
    ),
    "GET /admin/tenants/{tenant_id}/apikeys": (
        lambda e: ("GET", "/admin/tenants/system/apikeys", None),
        200,
    ),
    "DELETE /admin/apikeys/{key}": (lambda e: ("DELETE", f"/admin/apikeys/{e.key()}", None), 204),
    "GET /admin/audit": (lambda e: ("GET", "/admin/audit", None), 200),
    "GET /v1/export": (lambda e: ("GET", "/v1/export", None), 200),
    "POST /v1/chat/completions": (
        lambda e: (
            "POST",
            "/v1/chat/completions",
            {"model": "mock", "messages": [{"role": "user", "content": "hi"}]},
        ),
        200,
    ),
    "POST /proxy/v1/chat/completions": (
        lambda e: (
            "POST",
            "/proxy/v1/chat/completions",
            {"model": "mock", "messages": [{"role": "user", "content": "hi"}]},
        ),
        200,
    ),
    "GET /v1/models": (lambda e: ("GET", "/v1/models", None), 200),
    "GET /proxy/v1/models": (lambda e: ("GET", "/proxy/v1/models", None), 200),
}


def declared_routes(maia: Maia) -> dict[str, tuple[Scope, ...] | None]:
    """Every non-public route of the app with the scopes it declares."""
    found: dict[str, tuple[Scope, ...] | None] = {}
    for route in iter_route_contexts(list(create_app(maia).routes)):
        path = getattr(route, "path_format", None) or getattr(route, "path", "")
        if not path or path.startswith(PUBLIC_PREFIXES) or path == "/mcp":
            continue
        for method in getattr(route, "methods", None) or ():
            found[f"{method} {path}"] = scopes_of(route)
    return found


def test_every_route_declares_a_scope(maia: Maia) -> None:
    routes = declared_routes(maia)
    undeclared = sorted(name for name, scopes in routes.items() if not scopes)
    assert not undeclared, f"routes without requires(...): {undeclared}"


def test_the_matrix_covers_every_route(maia: Maia) -> None:
    routes = set(declared_routes(maia))
    assert routes == set(ROUTE_CALLS), (
        f"add to ROUTE_CALLS: {sorted(routes - set(ROUTE_CALLS))}; "
        f"stale: {sorted(set(ROUTE_CALLS) - routes)}"
    )


def test_admin_routes_need_admin(maia: Maia) -> None:
    for name, scopes in declared_routes(maia).items():
        if " /admin" in name or name == "GET /v1/export":
            assert scopes == (Scope.ADMIN,), name


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with running_server(
        tmp_path_factory.mktemp("authz"), api_key=ROOT_KEY, sqlite_synchronous="normal"
    ) as http:
        environment = Env(http, {})
        for scope in Scope:
            environment.keys[scope.value] = environment.key(scopes=[scope.value])
        environment.keys["none"] = environment.key()  # no scopes: allowed everything
        yield environment


def accepted_by(maia_scopes: tuple[Scope, ...] | None, key: str) -> bool:
    assert maia_scopes
    return key in ("*", "none") or Scope(key) in maia_scopes


@pytest.mark.parametrize("route", sorted(ROUTE_CALLS))
def test_scope_matrix(env: Env, maia: Maia, route: str) -> None:
    declared = declared_routes(maia)[route]
    build, success = ROUTE_CALLS[route]
    for key_name, key in env.keys.items():
        method, path, body = build(env)
        response = env.http.request(method, path, json=body, headers={"X-API-Key": key})
        if accepted_by(declared, key_name):
            assert response.status_code == success, (route, key_name, response.text)
        else:
            assert response.status_code == 403, (route, key_name, response.text)
            assert response.json() == {
                "error": "insufficient scope",
                "code": "INSUFFICIENT_SCOPE",
                "required": [*(s.value for s in declared or ()), "*"],
                "provided": [key_name],
            }


@pytest.mark.parametrize("route", sorted(ROUTE_CALLS))
def test_every_route_needs_a_key(env: Env, route: str) -> None:
    method, path, body = ROUTE_CALLS[route][0](env)
    missing = env.http.request(method, path, json=body)
    assert missing.status_code == 401
    assert missing.json() == {"error": "unauthorized", "message": "API key is required"}
    wrong = env.http.request(method, path, json=body, headers={"X-API-Key": "maia_" + "0" * 64})
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "unauthorized", "message": "invalid API key"}


def test_expired_and_revoked_keys_are_refused(env: Env) -> None:
    expired = env.key(scopes=["*"], expires_at="2020-01-01T00:00:00Z")
    live = env.key(scopes=["*"], expires_at="2999-01-01T00:00:00Z")
    assert env.http.get("/v1/stats", headers={"X-API-Key": live}).status_code == 200
    response = env.http.get("/v1/stats", headers={"X-API-Key": expired})
    assert response.status_code == 401
    assert response.json()["message"] == "invalid API key"

    assert env.root("DELETE", f"/admin/apikeys/{live}").status_code == 204
    assert env.http.get("/v1/stats", headers={"Authorization": f"Bearer {live}"}).status_code == 401
    assert env.root("DELETE", f"/admin/apikeys/{live}").status_code == 404, "revoked once"


def test_admin_scope_of_another_tenant_is_not_instance_admin(env: Env) -> None:
    tenant = env.tenant()
    key = env.key(tenant, scopes=["admin"])
    response = env.http.get("/admin/tenants", headers={"X-API-Key": key})
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


# -- namespace grants ----------------------------------------------------------------------


def test_namespace_patterns_limit_every_route(env: Env) -> None:
    mine = env.memory("team/alice/notes")
    theirs = env.memory("team/bob")
    key = env.key(scopes=["*"], namespaces=["team/alice"], default_namespace="team/alice")
    headers = {"X-API-Key": key}
    denied = {"error": "forbidden", "code": "FORBIDDEN"}

    def check(method: str, path: str, json: Any = None, *, allowed: bool) -> httpx.Response:
        response = env.http.request(method, path, json=json, headers=headers)
        if allowed:
            assert response.status_code < 400, (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.text)
            assert response.json().items() >= denied.items()
            assert "access denied for namespace" in response.json()["message"]
        return response

    check("POST", "/v1/memories", {"namespace": "team/alice", "content": "ok"}, allowed=True)
    check("POST", "/v1/memories", {"namespace": "team/bob", "content": "no"}, allowed=False)
    check("GET", f"/v1/memories/{mine}", allowed=True)
    check("GET", f"/v1/memories/{theirs}", allowed=False)
    check("PUT", f"/v1/memories/{theirs}", {"content": "x"}, allowed=False)
    check("DELETE", f"/v1/memories/{theirs}", allowed=False)
    check("POST", "/v1/memories/batch/delete", {"ids": [mine, theirs]}, allowed=False)
    check(
        "POST",
        f"/v1/memories/{mine}/relations",
        {"target_id": theirs, "type": "related_to"},
        allowed=False,
    )
    check(
        "POST", "/v1/memories/search", {"query": "memory", "namespace": "team/bob"}, allowed=False
    )
    check("POST", "/v1/context", {"query": "memory", "namespace": "team/bob"}, allowed=False)
    check("GET", "/v1/namespaces/default/memories", allowed=False)
    check("POST", "/v1/namespaces", {"name": "team/bob/x"}, allowed=False)
    check("POST", "/v1/namespaces", {"name": "team/alice/y"}, allowed=True)

    # Without a namespace, a limited key works in its default namespace (and below).
    found = check("POST", "/v1/memories/search", {"query": "memory"}, allowed=True).json()
    assert theirs not in {r["memory"]["id"] for r in found["data"]}
    scoped = check(
        "POST",
        "/v1/memories/search",
        {"query": "memory", "namespace": "team/alice", "include_descendants": True},
        allowed=True,
    ).json()
    assert mine in {r["memory"]["id"] for r in scoped["data"]}
    listed = check("GET", "/v1/namespaces", allowed=True).json()["data"]
    assert all(n["name"].startswith("team/alice") for n in listed)
    # The memory intact after every refused write.
    assert env.root("GET", f"/v1/memories/{theirs}").json()["content"] == "matrix memory"
    # An edge from a memory outside the grant is that memory's too: not listed.
    linked = env.root(
        "POST",
        f"/v1/memories/{theirs}/relations",
        json={"target_id": mine, "type": "related_to", "metadata": {"note": "private"}},
    )
    assert linked.status_code == 201, linked.text
    edges = check("GET", f"/v1/memories/{mine}/relations", allowed=True).json()
    assert edges["data"] == []
    everything = env.root("GET", f"/v1/memories/{mine}/relations").json()["data"]
    assert [e["metadata"] for e in everything] == [{"note": "private"}]


# Routes that touch the namespace "default" (or a new one) in ROUTE_CALLS: refused to a
# key limited to other namespaces. The rest work for it in its own default namespace.
OUTSIDE_THE_GRANT = {
    "POST /v1/memories",
    "POST /v1/memories/batch",
    "POST /v1/memories/batch/delete",
    "GET /v1/memories/{memory_id}",
    "PUT /v1/memories/{memory_id}",
    "DELETE /v1/memories/{memory_id}",
    "POST /v1/memories/{memory_id}/relations",
    "GET /v1/memories/{memory_id}/relations",
    "DELETE /v1/memories/{memory_id}/relations/{target_id}",
    "GET /v1/memories/{memory_id}/related",
    "POST /v1/namespaces",
    "GET /v1/namespaces/{ns}/memories",
    "GET /v1/namespaces/{ns}/children",
    "GET /v1/namespaces/{ns}/effective-config",
    "GET /v1/namespaces/{ns}",
    "PUT /v1/namespaces/{ns}",
    "DELETE /v1/namespaces/{ns}",
    "GET /v1/export",  # an export is of the whole tenant
}


@pytest.fixture(scope="module")
def limited_key(env: Env) -> str:
    return env.key(scopes=["*"], namespaces=["elsewhere"], default_namespace="elsewhere")


@pytest.mark.parametrize("route", sorted(ROUTE_CALLS))
def test_namespace_grant_matrix(env: Env, limited_key: str, route: str) -> None:
    build, success = ROUTE_CALLS[route]
    method, path, body = build(env)
    response = env.http.request(method, path, json=body, headers={"X-API-Key": limited_key})
    if route in OUTSIDE_THE_GRANT:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "FORBIDDEN"
        assert "access denied" in response.json()["message"]
    else:
        assert response.status_code == success, response.text


def test_wildcard_patterns(env: Env) -> None:
    key = env.key(scopes=["write"], namespaces=["org/*/public"])
    headers = {"X-API-Key": key}
    for namespace, status in (
        ("org/a/public", 201),
        ("org/b/public/deep", 201),
        ("org/a/private", 403),
        ("org", 403),
    ):
        response = env.http.post(
            "/v1/memories", json={"namespace": namespace, "content": "x"}, headers=headers
        )
        assert response.status_code == status, (namespace, response.text)


def test_limited_key_without_default_must_name_a_namespace(env: Env) -> None:
    key = env.key(scopes=["*"], namespaces=["only"])
    response = env.http.post("/v1/memories/search", json={"query": "x"}, headers={"X-API-Key": key})
    assert response.status_code == 403
    assert "name a namespace" in response.json()["message"]


def test_default_namespace_must_be_granted(env: Env) -> None:
    response = env.root(
        "POST",
        "/admin/tenants/system/apikeys",
        json={"name": "k", "namespaces": ["a"], "default_namespace": "b"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"


# -- MCP -----------------------------------------------------------------------------------

TOOL_ARGS: dict[str, Callable[[Env], dict[str, Any]]] = {
    "remember": lambda e: {"content": "from mcp"},
    "recall": lambda e: {"query": "memory"},
    "forget": lambda e: {"id": e.memory(), "confirm": True},
    "list_memories": lambda e: {},
    "get_context": lambda e: {"query": "memory"},
    "relate": lambda e: {"source_id": e.memory(), "target_id": e.memory(), "type": "related_to"},
    "update_memory": lambda e: {"id": e.memory(), "content": "changed"},
    "maia_complete": lambda e: {"model": "mock", "messages": [{"role": "user", "content": "hi"}]},
    "maia_stream": lambda e: {"model": "mock", "messages": [{"role": "user", "content": "hi"}]},
    "maia_list_models": lambda e: {},
}


def test_mcp_tools_follow_the_same_scopes(env: Env) -> None:
    assert set(TOOL_ARGS) == set(TOOL_SCOPES), "every tool is in the matrix"
    url = str(env.http.base_url).rstrip("/")

    async def scenario() -> None:
        for key_name in ("read", "write", "delete", "search", "context", "stats", "inference", "*"):
            async with http_client(url, headers={"X-API-Key": env.keys[key_name]}) as client:
                for tool, accepted in TOOL_SCOPES.items():
                    result = await client.call_tool(tool, TOOL_ARGS[tool](env))
                    allowed = key_name == "*" or Scope(key_name) in accepted
                    assert result.is_error is not allowed, (tool, key_name, text_of(result))
                    if not allowed:
                        assert "insufficient scope" in text_of(result)
                resources = await client.list_resources()
                assert resources.resources
                if key_name in ("read", "*"):
                    await client.read_resource("maia://stats")
                else:
                    with pytest.raises(Exception, match="insufficient scope"):
                        await client.read_resource("maia://stats")

    run(scenario, timeout=120)


def test_mcp_respects_namespace_grants(env: Env) -> None:
    theirs = env.memory("mcp/bob")
    key = env.key(scopes=["*"], namespaces=["mcp/alice"], default_namespace="mcp/alice")
    url = str(env.http.base_url).rstrip("/")

    async def scenario() -> None:
        async with http_client(url, headers={"X-API-Key": key}) as client:
            made = await client.call_tool("remember", {"content": "alice's note"})
            assert not made.is_error, text_of(made)
            assert made.structured_content is not None
            assert made.structured_content["namespace"] == "mcp/alice"
            refused = await client.call_tool("remember", {"content": "x", "namespace": "mcp/bob"})
            assert refused.is_error
            assert "access denied" in text_of(refused)
            forget = await client.call_tool("forget", {"id": theirs, "confirm": True})
            assert forget.is_error
            assert "access denied" in text_of(forget)

    run(scenario)
    assert env.root("GET", f"/v1/memories/{theirs}").status_code == 200
