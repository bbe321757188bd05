"""``maia memory`` against a live server: human output, ``--json``, aliases."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Api, maia
from tests.conftest import LiveServer


@pytest.fixture
def url(shared_server: LiveServer) -> str:
    return shared_server.url


def create(url: str, ns: str, content: str, *args: str) -> str:
    result = maia("memory", "create", "-s", url, "-n", ns, "-c", content, "-j", *args)
    assert result.exit_code == 0, result.output
    memory_id: str = json.loads(result.stdout)["id"]
    return memory_id


def test_create(url: str, ns: str, api: Api) -> None:
    options = ["--server", url, "--namespace", ns, "--content", "Alice [b]likes[/b] tea"]
    options += ["--type", "episodic", "--tags", "drink, preference,", "--confidence", "0.7"]
    result = maia("memory", "create", *options)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    first, *rest = result.stdout.splitlines()
    assert first.startswith("Created memory: ")
    memory_id = first.removeprefix("Created memory: ")
    assert rest == [
        f"  Namespace: {ns}",
        "  Type:      Episodic",
        "  Content:   Alice [b]likes[/b] tea",
    ]
    stored = api("GET", f"/v1/memories/{memory_id}")
    assert stored["tags"] == ["drink", "preference"]
    assert stored["confidence"] == 0.7
    assert stored["type"] == "episodic"


def test_create_json_is_the_api_json(url: str, ns: str, api: Api) -> None:
    result = maia("m", "create", "-s", url, "-n", ns, "-c", "plain", "-t", "working", "-j")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("{\n  ")
    created = json.loads(result.stdout)
    listed = api("GET", "/v1/memories", params={"namespace": ns})["data"]
    assert listed == [created]
    assert created["type"] == "working"
    assert "tags" not in created  # omitted when empty, as the server sends it


def test_list_table_filters_and_pages(url: str, ns: str) -> None:
    long = "episodic two " + "x" * 60
    ids = [
        create(url, ns, "semantic one"),
        create(url, ns, long, "-t", "episodic"),
        create(url, ns, "semantic three"),
    ]
    result = maia("memory", "list", "-s", url, "-n", ns)
    assert result.exit_code == 0, result.output
    header, rule, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "TYPE", "CONTENT", "CONFIDENCE", "CREATED"]
    assert set(rule.strip()) == {"-"}  # a row of dashes, as the original CLI's
    assert [row.split()[0] for row in rows] == ids  # full ids, oldest first
    assert rows[1].split()[1] == "episodic"
    assert f"   {long[:37]}...   " in rows[1]  # 40 characters
    assert rows[0].split()[-3:-2] == ["1.00"]
    only = maia("mem", "ls", "-s", url, "-n", ns, "--type", "episodic")
    assert [row.split()[0] for row in only.stdout.splitlines()[2:]] == [ids[1]]
    page = maia("memory", "list", "-s", url, "-n", ns, "--limit", "1", "--offset", "1")
    lines = page.stdout.splitlines()
    assert lines[2].split()[0] == ids[1]
    assert lines[-1] == "Showing 1 memories from offset 1; see more with --offset 2."
    empty = maia("memory", "list", "-s", url, "-n", f"{ns}-nothing")
    assert empty.stdout == f"No memories in namespace {ns}-nothing.\n"


def test_list_json_is_the_api_json(url: str, ns: str, api: Api) -> None:
    create(url, ns, "one", "--tags", "a")
    create(url, ns, "two", "-t", "episodic")
    result = maia("memory", "ls", "-s", url, "-n", ns, "-t", "episodic", "-l", "5", "-j")
    expected = api("GET", "/v1/memories", params={"namespace": ns, "type": "episodic", "limit": 5})
    assert json.loads(result.stdout) == expected
    assert expected["count"] == 1


def test_get_shows_every_field(url: str, ns: str) -> None:
    memory_id = create(url, ns, "Line one.\nLine [two].", "--tags", "x,y", "--confidence", ".5")
    result = maia("memory", "get", memory_id, "-s", url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    fields = dict(line.split(":", 1) for line in lines[: lines.index("")])
    assert fields["ID"].strip() == memory_id
    assert fields["Namespace"].strip() == ns
    assert fields["Type"].strip() == "Semantic"
    assert fields["Source"].strip() == "user"
    assert fields["Confidence"].strip() == "0.50"
    assert fields["Tags"].strip() == "x, y"
    assert fields["Accessed"].strip().endswith("UTC")
    assert fields["Access count"].strip() == "0"
    assert lines[lines.index("") + 1 :] == ["Content:", "Line one.", "Line [two]."]
    again = json.loads(maia("memory", "get", memory_id, "-s", url, "--json").stdout)
    assert again["access_count"] >= 1  # the first get counted an access
    assert again["accessed_at"] >= again["created_at"]


def test_update(url: str, ns: str, api: Api) -> None:
    memory_id = create(url, ns, "before", "--tags", "a,b")
    result = maia("memory", "update", memory_id, "-s", url, "-c", "after", "--confidence", "0.25")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Updated memory: {memory_id}\n"
    stored = api("GET", f"/v1/memories/{memory_id}")
    assert (stored["content"], stored["confidence"], stored["tags"]) == ("after", 0.25, ["a", "b"])
    cleared = maia("memory", "update", memory_id, "-s", url, "--tags", "", "-j")
    assert "tags" not in json.loads(cleared.stdout)


def test_update_without_changes_is_a_usage_error(url: str) -> None:
    result = maia("memory", "update", "some-id", "-s", url)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Error: no updates specified: give --content, --tags or --confidence\n"
    )


@pytest.mark.parametrize("command", ["delete", "rm"])
def test_delete(url: str, ns: str, api: Api, command: str) -> None:
    memory_id = create(url, ns, "doomed")
    result = maia("memory", command, memory_id, "-s", url)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Deleted memory: {memory_id}\n"
    assert api("GET", "/v1/memories", params={"namespace": ns})["data"] == []
    other = create(url, ns, "doomed too")
    as_json = maia("memory", command, other, "-s", url, "-j")
    assert json.loads(as_json.stdout) == {"deleted": True}


def test_search(url: str, ns: str, api: Api) -> None:
    tea = create(url, ns, "Alice drinks green tea every morning")
    create(url, ns, "The quarterly report is due on Friday", "-t", "episodic")
    result = maia("memory", "search", "-s", url, "-q", "green tea", "-n", ns)
    assert result.exit_code == 0, result.output
    header, _rule, first, *_ = result.stdout.splitlines()
    assert header.split() == ["ID", "TYPE", "SCORE", "CONTENT", "CONFIDENCE"]
    assert first.split()[0] == tea
    assert 0 <= float(first.split()[2]) <= 1
    assert "Alice drinks green tea every morning" in first
    episodic = maia("memory", "search", "-s", url, "-n", ns, "--type", "episodic", "-j")
    data = json.loads(episodic.stdout)
    body = {"namespace": ns, "types": ["episodic"], "limit": 20, "offset": 0}
    assert data == api("POST", "/v1/memories/search", json=body)
    assert [hit["memory"]["content"] for hit in data["data"]] == [
        "The quarterly report is due on Friday"
    ]
    paged = maia("memory", "search", "-s", url, "-n", ns, "--limit", "1", "--offset", "1", "-j")
    assert json.loads(paged.stdout)["count"] == 1
    nothing = maia("memory", "search", "-s", url, "-n", f"{ns}-none", "-q", "tea")
    assert nothing.stdout == "No memories found.\n"


def test_namespace_with_slashes_and_environment(
    shared_server: LiveServer, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIA_URL", shared_server.url)
    name = f"{ns}/team/alice"
    result = maia("memory", "create", "-n", name, "-c", "deep")
    assert result.exit_code == 0, result.output
    listed = maia("memory", "list", "-n", name, "-j")
    assert [m["content"] for m in json.loads(listed.stdout)["data"]] == ["deep"]
