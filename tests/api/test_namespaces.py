"""REST namespace routes over real HTTP: CRUD by id or name, listings, hierarchy,
effective config and the enforcement of ``max_memories`` / ``allowed_types``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from maia import Maia, Settings
from maia.models import NamespaceConfig, NamespaceCreate, TenantCreate
from tests.conftest import LiveServer, running_server

NAMESPACE_KEYS = {"id", "name", "config", "created_at", "updated_at"}
ENVELOPE_KEYS = {"data", "count", "offset", "limit"}
JSON_TYPE = "application/json; charset=utf-8"
EMPTY_CONFIG = {"inherit_from_parent": False}


# -- helpers -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One server for the module (a fresh store; tests use names of their own)."""
    with running_server(tmp_path_factory.mktemp("namespaces")) as http:
        yield http


@pytest.fixture(scope="module")
def listing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A read-only server holding exactly ``default``, ``n1``, ``n2``, ``n3``."""
    with running_server(tmp_path_factory.mktemp("listing")) as http:
        for name in ("n1", "n2", "n3"):
            create_ns(http, name)
        yield http


def unique(prefix: str = "ns") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def path(id_or_name: str, suffix: str = "") -> str:
    """The URL of a namespace, its name percent-encoded as the SDKs do (``/`` → ``%2F``)."""
    return f"/v1/namespaces/{quote(id_or_name, safe='')}{suffix}"


def create_ns(http: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    response = http.post("/v1/namespaces", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def create_memory(
    http: httpx.Client, namespace: str, content: str, **fields: Any
) -> dict[str, Any]:
    response = http.post(
        "/v1/memories", json={"namespace": namespace, "content": content, **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def page_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON_TYPE
    body: dict[str, Any] = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert isinstance(body["data"], list)
    assert body["count"] == len(body["data"])
    return body


def ns_memories(http: httpx.Client, id_or_name: str, **params: Any) -> dict[str, Any]:
    return page_of(http.get(path(id_or_name, "/memories"), params=params))


def memory_count(http: httpx.Client, namespace: str) -> int:
    response = http.post("/v1/memories/search", json={"namespace": namespace, "limit": 1000})
    assert response.status_code == 200
    return int(response.json()["count"])


def ts(value: str) -> datetime:
    assert value.endswith("Z"), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0)
    return parsed


def assert_namespace_shape(namespace: dict[str, Any]) -> None:
    assert NAMESPACE_KEYS <= set(namespace) <= NAMESPACE_KEYS | {"parent", "template"}
    assert uuid.UUID(namespace["id"]).version == 4
    assert isinstance(namespace["config"], dict)
    assert isinstance(namespace["config"]["inherit_from_parent"], bool)
    ts(namespace["created_at"])
    ts(namespace["updated_at"])


def assert_error(response: httpx.Response, status: int, code: str, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert body["code"] == code
    assert body["error"] == error


# -- create ------------------------------------------------------------------------------


def test_create_minimal_namespace(api: httpx.Client) -> None:
    name = unique()
    response = api.post("/v1/namespaces", json={"name": name})
    assert response.status_code == 201
    assert response.headers["content-type"] == JSON_TYPE
    namespace = response.json()
    assert_namespace_shape(namespace)
    assert set(namespace) == NAMESPACE_KEYS, "parent and template are absent when not given"
    assert namespace["name"] == name
    assert namespace["config"] == EMPTY_CONFIG
    assert namespace["created_at"] == namespace["updated_at"]


def test_create_echoes_parent_template_and_config(api: httpx.Client) -> None:
    name = unique()
    config = {
        "token_budget": 2000,
        "max_memories": 10,
        "retention_days": 30,
        "allowed_types": ["semantic", "episodic"],
        "inherit_from_parent": True,
        "custom_scoring": {"recency": 0.5},
    }
    namespace = create_ns(api, name, parent="org-a", template="support", config=config)
    assert_namespace_shape(namespace)
    assert namespace["parent"] == "org-a"
    assert namespace["template"] == "support"
    assert namespace["config"] == config
    assert api.get(path(name)).json() == namespace


def test_create_with_empty_parent_template_and_zero_config(api: httpx.Client) -> None:
    config = {
        "token_budget": 0,
        "max_memories": 0,
        "retention_days": 0,
        "allowed_types": [],
        "custom_scoring": {},
    }
    namespace = create_ns(api, unique(), parent="", template="", config=config)
    assert set(namespace) == NAMESPACE_KEYS
    assert namespace["config"] == EMPTY_CONFIG


def test_create_duplicate_name_is_409(api: httpx.Client) -> None:
    name = unique()
    first = create_ns(api, name, config={"token_budget": 100})
    response = api.post("/v1/namespaces", json={"name": name, "config": {"token_budget": 5}})
    assert response.status_code == 409
    assert response.json() == {
        "error": f"namespace already exists: {name}",
        "code": "ALREADY_EXISTS",
    }
    assert api.get(path(name)).json() == first, "the existing record is untouched"


def test_create_with_unknown_allowed_type_is_400(api: httpx.Client) -> None:
    name = unique()
    response = api.post(
        "/v1/namespaces",
        json={"name": name, "config": {"allowed_types": ["semantic", "procedural"]}},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_INPUT"
    assert "allowed_types" in body["error"]
    assert api.get(path(name)).status_code == 404, "nothing was created"


# -- get ---------------------------------------------------------------------------------


def test_get_by_id_and_by_name(api: httpx.Client) -> None:
    created = create_ns(api, unique(), config={"token_budget": 123})
    by_id = api.get(path(created["id"]))
    by_name = api.get(path(created["name"]))
    assert by_id.status_code == by_name.status_code == 200
    assert by_id.json() == by_name.json() == created


def test_get_unknown_is_404(api: httpx.Client) -> None:
    name = unique("missing")
    assert_error(api.get(path(name)), 404, "NOT_FOUND", f"namespace not found: {name}")
    missing_id = str(uuid.uuid4())
    assert_error(api.get(path(missing_id)), 404, "NOT_FOUND", f"namespace not found: {missing_id}")


@pytest.mark.parametrize(
    "name",
    [
        "acme/team/alice",
        "snake_case_name",
        "dotted.name.v2",
        "MixedCase",
        "with space",
        "ünïcödé/名前",
        "percent%2Fliteral",
        "query?and#hash",
        "plus+and&amp",
        "trailing/",
    ],
)
def test_names_of_any_form_work_in_every_route(api: httpx.Client, name: str) -> None:
    name = f"{uuid.uuid4().hex[:8]}-{name}"
    created = create_ns(api, name, config={"token_budget": 1})
    assert created["name"] == name

    fetched = api.get(path(name))
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == created

    memory = create_memory(api, name, "in an oddly named namespace")
    listed = ns_memories(api, name)
    assert [m["id"] for m in listed["data"]] == [memory["id"]]

    updated = api.put(path(name), json={"config": {"max_memories": 9}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == name
    assert updated.json()["config"] == {"max_memories": 9, "inherit_from_parent": False}

    deleted = api.delete(path(name))
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"deleted": True}
    assert api.get(path(name)).status_code == 404
    assert api.get(f"/v1/memories/{memory['id']}").status_code == 200


def test_names_differing_only_in_case_are_distinct(api: httpx.Client) -> None:
    base = unique()
    lower = create_ns(api, base.lower())
    upper = create_ns(api, base.upper())
    assert lower["id"] != upper["id"]
    assert api.get(path(base.upper())).json()["id"] == upper["id"]


# -- update ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["id", "name"])
def test_update_replaces_config_wholesale(api: httpx.Client, key: str) -> None:
    created = create_ns(
        api,
        unique("acme/upd"),
        parent="p",
        template="t",
        config={"token_budget": 2000, "max_memories": 10, "inherit_from_parent": True},
    )
    response = api.put(
        path(created[key]),
        json={
            "config": {"max_memories": 5},
            "name": "renamed",
            "parent": "other",
            "template": "other",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    updated = response.json()
    assert updated["config"] == {"max_memories": 5, "inherit_from_parent": False}
    for same in ("id", "name", "parent", "template", "created_at"):
        assert updated[same] == created[same]
    assert ts(updated["updated_at"]) > ts(created["updated_at"])
    assert api.get(path(created["id"])).json() == updated


def test_update_with_empty_config_clears_it(api: httpx.Client) -> None:
    created = create_ns(api, unique(), config={"token_budget": 2000, "retention_days": 3})
    response = api.put(path(created["id"]), json={"config": {}})
    assert response.status_code == 200
    assert response.json()["config"] == EMPTY_CONFIG


def test_update_unknown_is_404(api: httpx.Client) -> None:
    name = unique("missing")
    response = api.put(path(name), json={"config": {"token_budget": 1}})
    assert_error(response, 404, "NOT_FOUND", f"namespace not found: {name}")
    assert api.get(path(name)).status_code == 404, "PUT does not create"


def test_update_with_invalid_config_changes_nothing(api: httpx.Client) -> None:
    created = create_ns(api, unique(), config={"token_budget": 7})
    for config in ({"allowed_types": ["bogus"]}, {"max_memories": -1}, {"token_budget": "x"}):
        response = api.put(path(created["id"]), json={"config": config})
        assert response.status_code == 400, config
        body = response.json()
        assert body["code"] == "INVALID_INPUT"
        assert next(iter(config)) in body["details"]
        # A value of the wrong JSON type is a body decoding failure; a bad value names
        # its field.
        wrong_type = config == {"token_budget": "x"}
        assert body["error"].startswith("invalid request body" if wrong_type else "invalid config")
    assert api.get(path(created["id"])).json() == created


# -- delete ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["id", "name"])
def test_delete_keeps_the_memories(api: httpx.Client, key: str) -> None:
    name = unique("acme/del")
    created = create_ns(api, name)
    memory = create_memory(api, name, "survives its namespace")

    response = api.delete(path(created[key]))
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"deleted": True}

    assert api.get(path(created["id"])).status_code == 404
    assert api.get(path(name)).status_code == 404
    assert api.get(f"/v1/memories/{memory['id']}").status_code == 200
    assert memory_count(api, name) == 1, "memories stay searchable"
    assert api.get(path(name, "/memories")).status_code == 404, "the record is gone"

    again = api.delete(path(created[key]))
    assert_error(again, 404, "NOT_FOUND", f"namespace not found: {created[key]}")

    recreated = create_ns(api, name)
    assert recreated["id"] != created["id"]
    assert [m["id"] for m in ns_memories(api, name)["data"]] == [memory["id"]]


# -- list --------------------------------------------------------------------------------


def test_fresh_server_lists_default_first(client: httpx.Client) -> None:
    first = page_of(client.get("/v1/namespaces"))
    assert first["count"] == 1
    [default] = first["data"]
    assert default["name"] == "default"
    assert default["config"] == {"token_budget": 4000, "inherit_from_parent": False}

    names = ["zeta", "alpha", "Mid/dle"]
    for name in names:
        create_ns(client, name)
    listed = page_of(client.get("/v1/namespaces"))
    assert [n["name"] for n in listed["data"]] == ["default", *names], "created_at ascending"
    assert (listed["offset"], listed["limit"]) == (0, 100)
    for namespace in listed["data"]:
        assert_namespace_shape(namespace)
    created = [ts(n["created_at"]) for n in listed["data"]]
    assert created == sorted(created)


@pytest.mark.parametrize(
    ("params", "limit", "offset"),
    [
        ({"limit": "0"}, 100, 0),
        ({"limit": "-3"}, 100, 0),
        ({"limit": "5000"}, 1000, 0),
        ({"limit": "1000"}, 1000, 0),
        ({"limit": "abc"}, 100, 0),
        ({"limit": ""}, 100, 0),
        ({"limit": "1"}, 1, 0),
        ({"limit": "2", "offset": "1"}, 2, 1),
        ({"offset": "abc"}, 100, 0),
        ({"offset": "-4"}, 100, 0),
        ({}, 100, 0),
    ],
)
def test_list_limit_and_offset_are_clamped_and_echoed(
    listing: httpx.Client, params: dict[str, str], limit: int, offset: int
) -> None:
    everything = ["default", "n1", "n2", "n3"]
    result = page_of(listing.get("/v1/namespaces", params=params))
    assert (result["limit"], result["offset"]) == (limit, offset)
    assert [n["name"] for n in result["data"]] == everything[offset : offset + limit]


def test_list_huge_offset_is_empty_not_an_error(api: httpx.Client) -> None:
    result = page_of(api.get("/v1/namespaces", params={"offset": str(10**30)}))
    assert result["data"] == []


# -- the memories of a namespace --------------------------------------------------------


def test_namespace_memories_lists_only_its_own(api: httpx.Client) -> None:
    name = unique("acme/mem")
    created = create_ns(api, name)
    mine = [
        create_memory(api, name, "second", created_at="2024-01-02T00:00:00Z"),
        create_memory(api, name, "first", created_at="2024-01-01T00:00:00Z", tags=["t"]),
    ]
    create_memory(api, f"{name}/child", "a child's memory")
    create_memory(api, unique(), "someone else's")

    by_name = ns_memories(api, name)
    assert [m["content"] for m in by_name["data"]] == ["first", "second"]
    assert sorted(m["id"] for m in by_name["data"]) == sorted(m["id"] for m in mine)
    assert by_name["data"][0] == mine[1], "full Memory objects"
    assert (by_name["offset"], by_name["limit"]) == (0, 100)
    assert ns_memories(api, created["id"]) == by_name, "works with the namespace id too"


def test_namespace_memories_pagination(api: httpx.Client) -> None:
    name = unique()
    create_ns(api, name)
    for i in range(5):
        create_memory(api, name, f"m{i}")
    page = ns_memories(api, name, limit=2, offset=1)
    assert [m["content"] for m in page["data"]] == ["m1", "m2"]
    assert (page["limit"], page["offset"]) == (2, 1)
    assert ns_memories(api, name, limit=5000)["limit"] == 1000
    assert ns_memories(api, name, limit=0)["limit"] == 100
    assert ns_memories(api, name, limit="x")["limit"] == 100
    assert ns_memories(api, name, offset=5)["data"] == []


def test_namespace_memories_without_a_record_is_404(api: httpx.Client) -> None:
    name = unique("no-record")
    create_memory(api, name, "orphan")
    response = api.get(path(name, "/memories"))
    assert_error(response, 404, "NOT_FOUND", f"namespace not found: {name}")


def test_namespace_memories_of_an_empty_namespace(api: httpx.Client) -> None:
    name = unique()
    create_ns(api, name)
    response = api.get(path(name, "/memories"))
    assert page_of(response) == {"data": [], "count": 0, "offset": 0, "limit": 100}
    assert '"data":[]' in response.text.replace(" ", "")


# -- hierarchy ---------------------------------------------------------------------------


def test_children(api: httpx.Client) -> None:
    root = unique("acme")
    create_ns(api, root)
    create_ns(api, f"{root}/team")
    create_ns(api, f"{root}/team/alice")
    create_ns(api, f"{root}/ops")
    create_ns(api, unique("adopted"), parent=root)
    create_ns(api, f"{root}x/lookalike")

    children = page_of(api.get(path(root, "/children")))
    names = [n["name"] for n in children["data"]]
    assert names[:2] == [f"{root}/team", f"{root}/ops"]
    assert len(names) == 3
    assert names[2].startswith("adopted-")
    grand = page_of(api.get(path(f"{root}/team", "/children")))
    assert [n["name"] for n in grand["data"]] == [f"{root}/team/alice"]
    assert page_of(api.get(path(f"{root}/team/alice", "/children")))["data"] == []

    by_id = api.get(path(create_ns(api, unique())["id"], "/children"))
    assert page_of(by_id)["data"] == []
    missing = unique("missing")
    assert_error(
        api.get(path(missing, "/children")), 404, "NOT_FOUND", f"namespace not found: {missing}"
    )


def test_effective_config_overlays_the_parent(api: httpx.Client) -> None:
    root = unique("acme")
    create_ns(
        api,
        root,
        config={
            "token_budget": 2000,
            "max_memories": 50,
            "allowed_types": ["semantic", "episodic"],
            "custom_scoring": {"a": 1.0, "b": 2.0},
        },
    )
    create_ns(
        api,
        f"{root}/team",
        config={"inherit_from_parent": True, "retention_days": 7, "custom_scoring": {"b": 3.0}},
    )
    create_ns(api, f"{root}/solo", config={"retention_days": 3})

    response = api.get(path(f"{root}/team", "/effective-config"))
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {
        "token_budget": 2000,
        "max_memories": 50,
        "retention_days": 7,
        "allowed_types": ["semantic", "episodic"],
        "inherit_from_parent": True,
        "custom_scoring": {"a": 1.0, "b": 3.0},
    }
    solo = api.get(path(f"{root}/solo", "/effective-config"))
    assert solo.json() == {"retention_days": 3, "inherit_from_parent": False}
    # The stored config itself is not changed by inheritance.
    assert api.get(path(f"{root}/team")).json()["config"] == {
        "retention_days": 7,
        "inherit_from_parent": True,
        "custom_scoring": {"b": 3.0},
    }
    missing = unique("missing")
    assert_error(
        api.get(path(missing, "/effective-config")),
        404,
        "NOT_FOUND",
        f"namespace not found: {missing}",
    )


# -- enforcement -------------------------------------------------------------------------


def test_max_memories_is_enforced(api: httpx.Client) -> None:
    name = unique()
    create_ns(api, name, config={"max_memories": 2})
    kept = [create_memory(api, name, "one"), create_memory(api, name, "two")]

    response = api.post("/v1/memories", json={"namespace": name, "content": "three"})
    assert response.status_code == 429
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert body["code"] == "QUOTA_EXCEEDED"
    assert isinstance(body["error"], str)
    assert "max_memories" in body["error"]
    assert (body["limit"], body["current"]) == (2, 2)
    assert memory_count(api, name) == 2, "nothing was written"

    api.delete(f"/v1/memories/{kept[0]['id']}").raise_for_status()
    create_memory(api, name, "three")
    assert memory_count(api, name) == 2


def test_max_memories_applies_to_a_batch_as_a_whole(api: httpx.Client) -> None:
    name = unique()
    create_ns(api, name, config={"max_memories": 3})
    create_memory(api, name, "one")
    items = [{"namespace": name, "content": f"b{i}"} for i in range(3)]
    response = api.post("/v1/memories/batch", json={"memories": items})
    assert response.status_code == 429
    assert response.json()["code"] == "QUOTA_EXCEEDED"
    assert memory_count(api, name) == 1, "all or nothing"
    ok = api.post("/v1/memories/batch", json={"memories": items[:2]})
    assert ok.status_code == 201
    assert memory_count(api, name) == 3


def test_allowed_types_are_enforced(api: httpx.Client) -> None:
    name = unique()
    create_ns(api, name, config={"allowed_types": ["episodic", "working"]})

    response = api.post("/v1/memories", json={"namespace": name, "content": "x"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_INPUT"
    assert body["error"].startswith("invalid type")
    assert memory_count(api, name) == 0

    batch = [
        {"namespace": name, "content": "fine", "type": "episodic"},
        {"namespace": name, "content": "wrong", "type": "semantic"},
    ]
    response = api.post("/v1/memories/batch", json={"memories": batch})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
    assert memory_count(api, name) == 0

    assert create_memory(api, name, "ok", type="working")["type"] == "working"
    assert memory_count(api, name) == 1


def test_rules_are_inherited_from_the_parent(api: httpx.Client) -> None:
    root = unique("acme")
    create_ns(api, root, config={"allowed_types": ["episodic"], "max_memories": 1})
    create_ns(api, f"{root}/team", config={"inherit_from_parent": True})
    create_ns(api, f"{root}/free")

    child = f"{root}/team"
    wrong = api.post("/v1/memories", json={"namespace": child, "content": "x"})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "INVALID_INPUT"
    create_memory(api, child, "ok", type="episodic")
    full = api.post("/v1/memories", json={"namespace": child, "content": "y", "type": "episodic"})
    assert full.status_code == 429
    assert full.json()["code"] == "QUOTA_EXCEEDED"
    assert memory_count(api, child) == 1

    create_memory(api, f"{root}/free", "not inherited")
    create_memory(api, f"{root}/free", "still fine")


def test_rules_do_not_apply_without_a_record(api: httpx.Client) -> None:
    name = unique()
    create_ns(api, name, config={"max_memories": 1})
    create_memory(api, name, "one")
    api.delete(path(name)).raise_for_status()
    create_memory(api, name, "two: the record (and its limit) is gone")
    assert memory_count(api, name) == 2


def test_the_server_retention_sweep_covers_every_tenant(
    serve: Callable[..., LiveServer], make_settings: Callable[..., Settings]
) -> None:
    maia = Maia.open(settings=make_settings(retention_sweep_seconds=0.1))
    old = maia.now() - timedelta(days=3)
    views = [maia, maia.for_tenant(maia.create_tenant(TenantCreate(name="acme")).id)]
    remembered = []
    for view in views:
        config = NamespaceConfig(retention_days=1)
        view.create_namespace(NamespaceCreate(name="short", config=config))
        remembered.append(view.remember("old", namespace="short", created_at=old).id)
    serve(maia)
    deadline = time.monotonic() + 10
    while any(v.get_memories([i]) for v, i in zip(views, remembered, strict=True)):
        assert time.monotonic() < deadline, "the sweep left a tenant's expired memory"
        time.sleep(0.05)


def test_a_limited_key_is_shown_no_config_of_an_ungranted_parent(
    serve: Callable[..., LiveServer],
) -> None:
    server = serve(api_key="root-key", auth_cache_seconds=0)
    root = {"X-API-Key": "root-key"}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        secret = {"token_budget": 1234, "custom_scoring": {"secret_weight": 3.0}}
        assert http.post("/v1/namespaces", json={"name": "secret", "config": secret}, headers=root)
        inherit = {"inherit_from_parent": True}
        linked = {"name": "acme/linked", "parent": "secret", "config": inherit}
        assert http.post("/v1/namespaces", json=linked, headers=root).status_code == 201
        created = http.post(
            "/admin/tenants/system/apikeys",
            json={"name": "acme", "namespaces": ["acme", "acme/*"]},
            headers=root,
        )
        limited = {"X-API-Key": created.json()["key"]}
        spy = {"name": "acme/spy", "parent": "secret", "config": inherit}
        assert http.post("/v1/namespaces", json=spy, headers=limited).status_code == 403
        path = f"/v1/namespaces/{quote('acme/linked', safe='')}/effective-config"
        shown = http.get(path, headers=limited).json()
        assert shown.get("token_budget") != 1234
        assert "secret_weight" not in shown.get("custom_scoring", {})
        assert http.get(path, headers=root).json()["token_budget"] == 1234
