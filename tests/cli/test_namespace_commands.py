"""``maia namespace`` and ``maia stats`` against a live server."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.cli.conftest import Api, maia
from tests.conftest import LiveServer


@pytest.fixture
def url(shared_server: LiveServer) -> str:
    return shared_server.url


def test_create(url: str, ns: str, api: Api) -> None:
    result = maia(
        "namespace", "create", f"{ns}/team", "-s", url, "--parent", ns,
        "--template", "notes", "--token-budget", "2000", "--inherit",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Created namespace: {ns}/team"
    stored = api("GET", f"/v1/namespaces/{ns}%2Fteam")
    assert lines[1:] == [
        f"  ID:           {stored['id']}",
        "  Token Budget: 2000",
        f"  Parent:       {ns}",
    ]
    assert stored["template"] == "notes"
    assert stored["config"] == {"token_budget": 2000, "inherit_from_parent": True}
    plain = maia("ns", "create", ns, "-s", url, "-j")
    created = json.loads(plain.stdout)
    assert created == api("GET", f"/v1/namespaces/{ns}")
    assert created["config"] == {"token_budget": 4000, "inherit_from_parent": False}
    assert "parent" not in created


def test_list(url: str, ns: str, api: Api) -> None:
    for suffix in ("a", "b"):
        maia("namespace", "create", f"{ns}-{suffix}", "-s", url, "--token-budget", "0")
    result = maia("namespace", "list", "-s", url, "-l", "1000")
    assert result.exit_code == 0, result.output
    header, _rule, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "ID", "PARENT", "TOKEN", "BUDGET", "CREATED"]
    assert rows[0].split()[0] == "default"
    mine = [row.split() for row in rows if row.startswith(ns)]
    assert [(r[0], r[2], r[3]) for r in mine] == [(f"{ns}-a", "-", "-"), (f"{ns}-b", "-", "-")]
    page = maia("ns", "ls", "-s", url, "--limit", "1", "--offset", "1")
    assert page.stdout.splitlines()[-1] == (
        "Showing 1 namespaces from offset 1; see more with --offset 2."
    )
    as_json = maia("namespace", "ls", "-s", url, "-l", "2", "-o", "0", "-j")
    assert json.loads(as_json.stdout) == api("GET", "/v1/namespaces", params={"limit": 2})


def test_get_by_name_and_id(url: str, ns: str, api: Api) -> None:
    name = f"{ns}/x/memories"  # would be read as a sub-route if not encoded
    created = json.loads(maia("namespace", "create", name, "-s", url, "-j").stdout)
    api("PUT", f"/v1/namespaces/{created['id']}", json={"config": {
        "max_memories": 7, "allowed_types": ["semantic", "working"], "custom_scoring": {"text": 2},
    }})  # fmt: skip
    result = maia("namespace", "get", name, "-s", url)
    assert result.exit_code == 0, result.output
    fields = {k: v.strip() for k, v in (line.split(":", 1) for line in result.stdout.splitlines())}
    assert fields["Name"] == name
    assert fields["ID"] == created["id"]
    assert fields["Max Memories"] == "7"
    assert fields["Token Budget"] == "-"
    assert fields["Allowed Types"] == "semantic, working"
    assert fields["Scoring"] == '{"text": 2.0}'
    assert fields["Inherit"] == "no"
    by_id = maia("namespace", "get", created["id"], "-s", url, "-j")
    assert json.loads(by_id.stdout)["name"] == name


def test_update_keeps_the_rest_of_the_config(url: str, ns: str, api: Api) -> None:
    maia("namespace", "create", f"{ns}/a", "-s", url)
    api("PUT", f"/v1/namespaces/{ns}%2Fa", json={"config": {"max_memories": 9}})
    result = maia("namespace", "update", f"{ns}/a", "-s", url, "--token-budget", "123")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Updated namespace: {ns}/a\n"
    config = api("GET", f"/v1/namespaces/{ns}%2Fa")["config"]
    assert config == {"token_budget": 123, "max_memories": 9, "inherit_from_parent": False}
    on = maia("namespace", "update", f"{ns}/a", "-s", url, "--inherit", "-j")
    assert json.loads(on.stdout)["config"]["inherit_from_parent"] is True
    off = maia("namespace", "update", f"{ns}/a", "-s", url, "--no-inherit", "-j")
    assert json.loads(off.stdout)["config"] == {
        "token_budget": 123,
        "max_memories": 9,
        "inherit_from_parent": False,
    }
    nothing = maia("namespace", "update", f"{ns}/a", "-s", url)
    assert nothing.exit_code == 2
    assert nothing.stderr.startswith("Error: no updates specified")


@pytest.mark.parametrize("command", ["delete", "rm"])
def test_delete_by_name(url: str, ns: str, api: Api, command: str) -> None:
    maia("namespace", "create", f"{ns}/gone", "-s", url)
    maia("memory", "create", "-s", url, "-n", f"{ns}/gone", "-c", "stays")
    result = maia("namespace", command, f"{ns}/gone", "-s", url)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Deleted namespace: {ns}/gone\n"
    memories = api("GET", "/v1/memories", params={"namespace": f"{ns}/gone"})["data"]
    assert [m["content"] for m in memories] == ["stays"]
    maia("namespace", "create", f"{ns}/gone", "-s", url)
    assert json.loads(maia("ns", command, f"{ns}/gone", "-s", url, "-j").stdout) == {
        "deleted": True
    }


def test_stats_shows_the_real_numbers(serve: Callable[..., LiveServer]) -> None:
    server = serve()
    api = Api(server)
    for content in ("one", "two", "three"):
        api("POST", "/v1/memories", json={"namespace": "x", "content": content})
    api("POST", "/v1/namespaces", json={"name": "x"})
    result = maia("stats", "-s", server.url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == ["Memories:   3", "Namespaces: 2"]
    size = api("GET", "/v1/stats")["storage_size_bytes"]
    assert size > 1024
    assert lines[2].startswith("Storage:    ")
    assert lines[2].endswith(("KiB", "MiB"))
    as_json = json.loads(maia("stats", "-s", server.url, "--json").stdout)
    assert as_json["total_memories"] == 3
    assert as_json["total_namespaces"] == 2
    assert as_json["last_compaction"] == "0001-01-01T00:00:00Z"
