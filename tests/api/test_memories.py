"""REST memories routes over real HTTP: CRUD, search, batch, touch and listing.

Most tests share one module-wide server and isolate themselves with a namespace of
their own; tests that need a pristine store (unfiltered search, counts) take the
per-test ``client`` fixture instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import running_server

MEMORY_KEYS = {
    "id",
    "namespace",
    "content",
    "type",
    "created_at",
    "updated_at",
    "accessed_at",
    "access_count",
    "confidence",
    "source",
}
ENVELOPE_KEYS = {"data", "count", "offset", "limit"}
JSON_TYPE = "application/json; charset=utf-8"


# -- helpers -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One server for the module (a fresh store; tests use their own namespaces)."""
    with running_server(tmp_path_factory.mktemp("memories")) as http:
        yield http


def new_ns(prefix: str = "mem") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create(http: httpx.Client, namespace: str, content: str, **fields: Any) -> dict[str, Any]:
    response = http.post(
        "/v1/memories", json={"namespace": namespace, "content": content, **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def get(http: httpx.Client, memory_id: str) -> dict[str, Any]:
    response = http.get(f"/v1/memories/{memory_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def search(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post("/v1/memories/search", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert set(result) == ENVELOPE_KEYS
    assert isinstance(result["data"], list)
    assert result["count"] == len(result["data"])
    return result


def contents(results: dict[str, Any]) -> list[str]:
    return [item["memory"]["content"] for item in results["data"]]


def ts(value: str) -> datetime:
    assert isinstance(value, str)
    assert value.endswith("Z"), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0)
    return parsed


def assert_memory_shape(memory: dict[str, Any]) -> None:
    assert set(memory) >= MEMORY_KEYS
    assert set(memory) <= MEMORY_KEYS | {"tags", "metadata"}
    assert uuid.UUID(memory["id"]).version == 4
    assert memory["id"] == memory["id"].lower()
    assert len(memory["id"]) == 36
    assert memory["type"] in {"semantic", "episodic", "working"}
    assert memory["source"] in {"user", "extracted", "inferred", "imported"}
    assert isinstance(memory["access_count"], int)
    assert isinstance(memory["confidence"], int | float)
    for key in ("created_at", "updated_at", "accessed_at"):
        ts(memory[key])
    for key in ("tags", "metadata"):
        if key in memory:
            assert memory[key], f"{key} must be omitted when empty"


def stable(memory: dict[str, Any]) -> dict[str, Any]:
    """A memory without the fields a GET changes."""
    return {k: v for k, v in memory.items() if k not in ("access_count", "accessed_at")}


# -- create ------------------------------------------------------------------------------


def test_create_returns_201_with_defaults(api: httpx.Client) -> None:
    ns = new_ns()
    before = datetime.now(UTC)
    response = api.post("/v1/memories", json={"namespace": ns, "content": "Works night shifts"})
    after = datetime.now(UTC)

    assert response.status_code == 201
    assert response.headers["content-type"] == JSON_TYPE
    memory = response.json()
    assert_memory_shape(memory)
    assert set(memory) == MEMORY_KEYS
    assert memory["namespace"] == ns
    assert memory["content"] == "Works night shifts"
    assert memory["type"] == "semantic"
    assert memory["source"] == "user"
    assert memory["confidence"] == 1.0
    assert memory["access_count"] == 0
    assert memory["created_at"] == memory["updated_at"] == memory["accessed_at"]
    assert before - timedelta(seconds=1) <= ts(memory["created_at"]) <= after + timedelta(seconds=1)
    for absent in ("tags", "metadata", "embedding", "relations"):
        assert absent not in memory


def test_create_echoes_every_field(api: httpx.Client) -> None:
    ns = new_ns()
    metadata = {"origin": "settings", "nested": {"a": [1, 2.5, None, True]}, "n": 3}
    memory = create(
        api,
        ns,
        "Prefers answers in Portuguese",
        type="episodic",
        tags=["prefs", "lang"],
        metadata=metadata,
        confidence=0.9,
        source="extracted",
    )
    assert_memory_shape(memory)
    assert memory["type"] == "episodic"
    assert memory["tags"] == ["prefs", "lang"]
    assert memory["metadata"] == metadata
    assert memory["confidence"] == 0.9
    assert memory["source"] == "extracted"
    assert stable(get(api, memory["id"])) == stable(memory)


@pytest.mark.parametrize("memory_type", ["semantic", "episodic", "working"])
@pytest.mark.parametrize("source", ["user", "extracted", "inferred", "imported"])
def test_create_accepts_every_type_and_source(
    api: httpx.Client, memory_type: str, source: str
) -> None:
    memory = create(api, new_ns(), "x", type=memory_type, source=source)
    assert (memory["type"], memory["source"]) == (memory_type, source)


@pytest.mark.parametrize("confidence", [0, 0.0, None])
def test_create_zero_or_null_confidence_means_full(api: httpx.Client, confidence: Any) -> None:
    memory = create(api, new_ns(), "x", confidence=confidence)
    assert memory["confidence"] == 1.0


def test_create_empty_type_and_source_mean_defaults(api: httpx.Client) -> None:
    memory = create(api, new_ns(), "x", type="", source="")
    assert (memory["type"], memory["source"]) == ("semantic", "user")


def test_create_empty_tags_and_metadata_are_omitted(api: httpx.Client) -> None:
    memory = create(api, new_ns(), "x", tags=[], metadata={})
    assert "tags" not in memory
    assert "metadata" not in memory
    fetched = get(api, memory["id"])
    assert "tags" not in fetched
    assert "metadata" not in fetched
    assert "null" not in api.get(f"/v1/memories/{memory['id']}").text


def test_create_ignores_server_owned_and_unknown_fields(api: httpx.Client) -> None:
    forced_id = str(uuid.uuid4())
    memory = create(
        api,
        new_ns(),
        "x",
        id=forced_id,
        embedding=[0.1, 0.2],
        relations=[{"target_id": forced_id, "type": "related_to", "weight": 1}],
        access_count=7,
        updated_at="2020-01-01T00:00:00Z",
        whatever={"a": 1},
    )
    assert memory["id"] != forced_id
    assert memory["access_count"] == 0
    assert memory["updated_at"] == memory["created_at"]
    assert set(memory) == MEMORY_KEYS


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2024-03-01T12:00:00.5+02:00", datetime(2024, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2024-03-01T12:00:00Z", datetime(2024, 3, 1, 12, tzinfo=UTC)),
        ("2024-03-01T12:00:00", datetime(2024, 3, 1, 12, tzinfo=UTC)),
        ("2024-03-01T12:00:00.123456Z", datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_create_accepts_explicit_created_at(
    api: httpx.Client, sent: str, expected: datetime
) -> None:
    memory = create(api, new_ns(), "x", created_at=sent)
    assert ts(memory["created_at"]) == expected
    assert memory["created_at"] == memory["updated_at"] == memory["accessed_at"]
    assert ts(get(api, memory["id"])["created_at"]) == expected


def test_create_does_not_need_a_namespace_record(api: httpx.Client) -> None:
    ns = new_ns()
    memory = create(api, ns, "orphan")
    assert memory["namespace"] == ns
    assert api.get(f"/v1/namespaces/{ns}").status_code == 404, "no record is created"
    assert contents(search(api, namespace=ns)) == ["orphan"]


def test_create_keeps_unicode_content_exactly(api: httpx.Client) -> None:
    text = "Olá, 世界! Привет 👋🏽 — ﬁ\tline\nnext"
    memory = create(api, new_ns(), text, tags=["日本", "ü"], metadata={"emoji": "🎉"})
    fetched = get(api, memory["id"])
    assert fetched["content"] == text
    assert fetched["tags"] == ["日本", "ü"]
    assert fetched["metadata"] == {"emoji": "🎉"}


# -- get ---------------------------------------------------------------------------------


def test_get_returns_the_stored_memory(api: httpx.Client) -> None:
    memory = create(api, new_ns(), "fetch me", tags=["t"], metadata={"k": "v"})
    response = api.get(f"/v1/memories/{memory['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == memory, "first GET shows the state before the access"


def test_get_unknown_id_is_404_envelope(api: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    response = api.get(f"/v1/memories/{missing}")
    assert response.status_code == 404
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"error": f"memory not found: {missing}", "code": "NOT_FOUND"}
    # An encoded slash is quoted back as a slash, in any message.
    slashed = api.get("/v1/memories/a%2Fb")
    assert slashed.json() == {"error": "memory not found: a/b", "code": "NOT_FOUND"}
    assert api.get("/v1/nope%2Fx").json()["details"] == "no route for /v1/nope/x"


def test_get_counts_accesses(api: httpx.Client) -> None:
    memory = create(api, new_ns(), "count me")
    first, second, third = (get(api, memory["id"]) for _ in range(3))
    assert [first["access_count"], second["access_count"], third["access_count"]] == [0, 1, 2]
    assert first["accessed_at"] == memory["accessed_at"]
    assert ts(second["accessed_at"]) > ts(memory["created_at"])
    assert ts(third["accessed_at"]) >= ts(second["accessed_at"])
    assert third["updated_at"] == memory["updated_at"], "reads do not change updated_at"
    assert third["created_at"] == memory["created_at"]


def test_other_reads_do_not_count_accesses(api: httpx.Client) -> None:
    ns = new_ns()
    memory = create(api, ns, "quiet reads")
    api.post("/v1/namespaces", json={"name": ns}).raise_for_status()
    search(api, namespace=ns)
    search(api, query="quiet", namespace=ns)
    api.get("/v1/memories", params={"namespace": ns}).raise_for_status()
    api.get(f"/v1/namespaces/{ns}/memories").raise_for_status()
    assert get(api, memory["id"])["access_count"] == 0


# -- update ------------------------------------------------------------------------------


def test_update_replaces_content_tags_and_metadata(api: httpx.Client) -> None:
    memory = create(api, new_ns(), "old", tags=["a", "b"], metadata={"keep": 1, "x": 2})
    response = api.put(
        f"/v1/memories/{memory['id']}",
        json={"content": "new", "tags": ["c"], "metadata": {"y": 3}},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    updated = response.json()
    assert_memory_shape(updated)
    assert updated["content"] == "new"
    assert updated["tags"] == ["c"]
    assert updated["metadata"] == {"y": 3}, "metadata is replaced, not merged"
    for same in ("id", "namespace", "type", "source", "confidence", "created_at"):
        assert updated[same] == memory[same]
    assert stable(get(api, memory["id"])) == stable(updated)


@pytest.mark.parametrize(("field", "empty"), [("tags", []), ("metadata", {})])
def test_update_with_empty_value_removes_the_key(api: httpx.Client, field: str, empty: Any) -> None:
    memory = create(api, new_ns(), "x", tags=["a"], metadata={"k": "v"})
    response = api.put(f"/v1/memories/{memory['id']}", json={field: empty})
    assert response.status_code == 200
    assert field not in response.json()
    fetched = get(api, memory["id"])
    assert field not in fetched
    other = "metadata" if field == "tags" else "tags"
    assert fetched[other] == memory[other], "the other field is untouched"


def test_update_absent_or_null_fields_stay_unchanged(api: httpx.Client) -> None:
    memory = create(api, new_ns(), "same", tags=["a"], metadata={"k": 1}, confidence=0.4)
    body = {"content": None, "tags": None, "metadata": None, "confidence": None}
    response = api.put(f"/v1/memories/{memory['id']}", json=body)
    assert response.status_code == 200
    updated = response.json()
    for key in ("content", "tags", "metadata", "confidence"):
        assert updated[key] == memory[key]


def test_update_accepts_zero_confidence(api: httpx.Client) -> None:
    memory = create(api, new_ns(), "x")
    response = api.put(f"/v1/memories/{memory['id']}", json={"confidence": 0})
    assert response.status_code == 200
    assert response.json()["confidence"] == 0
    assert get(api, memory["id"])["confidence"] == 0


def test_update_ignores_type_source_namespace_and_id(api: httpx.Client) -> None:
    memory = create(api, new_ns(), "x", type="episodic", source="imported")
    response = api.put(
        f"/v1/memories/{memory['id']}",
        json={
            "type": "working",
            "source": "user",
            "namespace": "elsewhere",
            "id": str(uuid.uuid4()),
            "created_at": "2000-01-01T00:00:00Z",
            "content": "y",
        },
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["content"] == "y"
    for same in ("id", "type", "source", "namespace", "created_at"):
        assert updated[same] == memory[same]
    assert stable(get(api, memory["id"])) == stable(updated)


def test_update_bumps_updated_at_even_with_empty_body(api: httpx.Client) -> None:
    memory = create(api, new_ns(), "x", tags=["t"])
    first = api.put(f"/v1/memories/{memory['id']}", json={"content": "y"}).json()
    assert ts(first["updated_at"]) > ts(memory["updated_at"])
    assert first["created_at"] == memory["created_at"]

    second = api.put(f"/v1/memories/{memory['id']}", json={})
    assert second.status_code == 200
    body = second.json()
    assert ts(body["updated_at"]) > ts(first["updated_at"])
    assert stable(body) == {**stable(first), "updated_at": body["updated_at"]}


def test_update_keeps_access_statistics(api: httpx.Client) -> None:
    memory = create(api, new_ns(), "x")
    get(api, memory["id"])
    get(api, memory["id"])
    updated = api.put(f"/v1/memories/{memory['id']}", json={"content": "y"}).json()
    assert updated["access_count"] == 2


def test_update_unknown_id_is_404(api: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    response = api.put(f"/v1/memories/{missing}", json={"content": "y"})
    assert response.status_code == 404
    assert response.json() == {"error": f"memory not found: {missing}", "code": "NOT_FOUND"}


def test_updated_content_is_what_search_finds(api: httpx.Client) -> None:
    ns = new_ns()
    memory = create(api, ns, "walrus facts")
    create(api, ns, "walrus trivia")
    api.put(f"/v1/memories/{memory['id']}", json={"content": "narwhal facts"}).raise_for_status()
    assert contents(search(api, query="narwhal", namespace=ns))[:1] == ["narwhal facts"]
    assert contents(search(api, query="walrus", namespace=ns))[:1] == ["walrus trivia"]


# -- delete ------------------------------------------------------------------------------


def test_delete_then_404(api: httpx.Client) -> None:
    ns = new_ns()
    memory = create(api, ns, "short-lived")
    keep = create(api, ns, "stays")
    response = api.delete(f"/v1/memories/{memory['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"deleted": True}

    assert api.get(f"/v1/memories/{memory['id']}").status_code == 404
    again = api.delete(f"/v1/memories/{memory['id']}")
    assert again.status_code == 404
    assert again.json() == {"error": f"memory not found: {memory['id']}", "code": "NOT_FOUND"}
    assert [r["memory"]["id"] for r in search(api, namespace=ns)["data"]] == [keep["id"]]


# -- search ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, b"", b"{}"], ids=["no-body", "empty", "empty-object"])
def test_search_without_criteria_lists_everything(client: httpx.Client, body: bytes | None) -> None:
    created = [create(client, "default", f"m{i}") for i in range(3)]
    response = client.post("/v1/memories/search", content=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    result = response.json()
    assert set(result) == ENVELOPE_KEYS
    assert result["offset"] == 0
    assert result["limit"] == 100
    assert result["count"] == len(result["data"]) == 3
    assert [item["memory"] for item in result["data"]] == created
    assert all(item["score"] == 1.0 for item in result["data"])
    assert all(set(item) == {"memory", "score"} for item in result["data"])


def test_search_no_match_gives_empty_list_not_null(api: httpx.Client) -> None:
    create(api, new_ns(), "something")
    response = api.post("/v1/memories/search", json={"namespace": new_ns("nothing")})
    assert response.status_code == 200
    assert response.json() == {"data": [], "count": 0, "offset": 0, "limit": 100}
    assert '"data":[]' in response.text.replace(" ", "")
    assert search(api, query="zzqqxxnomatch", namespace=new_ns())["data"] == []


def test_search_filters_by_namespace(api: httpx.Client) -> None:
    ns, other = new_ns(), new_ns()
    create(api, ns, "mine 1")
    create(api, other, "theirs")
    create(api, ns, "mine 2")
    assert contents(search(api, namespace=ns)) == ["mine 1", "mine 2"]
    assert contents(search(api, namespace=other)) == ["theirs"]
    assert "theirs" not in contents(search(api, namespace=ns, query="theirs"))


def test_search_types_filter_is_any_of(api: httpx.Client) -> None:
    ns = new_ns()
    create(api, ns, "s", type="semantic")
    create(api, ns, "e", type="episodic")
    create(api, ns, "w", type="working")
    assert contents(search(api, namespace=ns, types=["episodic"])) == ["e"]
    assert contents(search(api, namespace=ns, types=["working", "semantic"])) == ["s", "w"]
    assert contents(search(api, namespace=ns, types=[])) == ["s", "e", "w"]


def test_search_tags_filter_is_all_of(api: httpx.Client) -> None:
    ns = new_ns()
    create(api, ns, "ab", tags=["a", "b"])
    create(api, ns, "a", tags=["a"])
    create(api, ns, "abc", tags=["a", "b", "c"])
    create(api, ns, "none")
    assert contents(search(api, namespace=ns, tags=["a"])) == ["ab", "a", "abc"]
    assert contents(search(api, namespace=ns, tags=["a", "b"])) == ["ab", "abc"]
    assert contents(search(api, namespace=ns, tags=["b", "c", "a"])) == ["abc"]
    assert contents(search(api, namespace=ns, tags=["zz"])) == []


def test_search_filters_apply_with_a_query(api: httpx.Client) -> None:
    ns = new_ns()
    create(api, ns, "coffee in the morning", type="episodic", tags=["drink"])
    create(api, ns, "coffee beans origin", type="semantic", tags=["drink"])
    create(api, ns, "coffee tasting notes", type="episodic")
    create(api, new_ns(), "coffee elsewhere", type="episodic", tags=["drink"])
    found = search(api, query="coffee", namespace=ns, types=["episodic"], tags=["drink"])
    assert contents(found) == ["coffee in the morning"]


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [(5000, 1000), (1001, 1000), (1000, 1000), (None, 100), (0, 100), (-5, 100), (2, 2), (1, 1)],
)
def test_search_limit_is_clamped_and_echoed(
    api: httpx.Client, sent: int | None, echoed: int
) -> None:
    ns = new_ns()
    for i in range(3):
        create(api, ns, f"m{i}")
    body: dict[str, Any] = {"namespace": ns}
    if sent is not None:
        body["limit"] = sent
    result = search(api, **body)
    assert result["limit"] == echoed
    assert result["count"] == min(3, echoed)


def test_search_offset_skips_and_is_echoed(api: httpx.Client) -> None:
    ns = new_ns()
    for i in range(5):
        create(api, ns, f"m{i}")
    page = search(api, namespace=ns, offset=1, limit=2)
    assert (page["offset"], page["limit"]) == (1, 2)
    assert contents(page) == ["m1", "m2"]
    assert contents(search(api, namespace=ns, offset=3)) == ["m3", "m4"]
    beyond = search(api, namespace=ns, offset=50)
    assert (beyond["data"], beyond["offset"]) == ([], 50)
    assert contents(search(api, namespace=ns, offset=-1))[:1] == ["m0"]


def test_search_offset_applies_to_ranked_results(api: httpx.Client) -> None:
    ns = new_ns()
    for i in range(4):
        create(api, ns, "pelican " * (4 - i) + f"n{i}")
    everything = search(api, query="pelican", namespace=ns)["data"]
    assert len(everything) == 4
    page = search(api, query="pelican", namespace=ns, offset=1, limit=2)
    assert [r["memory"]["id"] for r in page["data"]] == [r["memory"]["id"] for r in everything[1:3]]
    assert page["offset"] == 1


def test_search_huge_offset_is_not_an_error(api: httpx.Client) -> None:
    ns = new_ns()
    create(api, ns, "x")
    for body in ({"offset": 10**30}, {"offset": 10**30, "query": "x"}, {"offset": 2**63}):
        response = api.post("/v1/memories/search", json={"namespace": ns, **body})
        assert response.status_code == 200, response.text
        assert response.json()["data"] == []


def test_search_without_query_orders_by_created_at(api: httpx.Client) -> None:
    ns = new_ns()
    create(api, ns, "third", created_at="2024-01-03T00:00:00Z")
    create(api, ns, "first", created_at="2024-01-01T00:00:00Z")
    create(api, ns, "second", created_at="2024-01-02T00:00:00Z")
    result = search(api, namespace=ns)
    assert contents(result) == ["first", "second", "third"]
    assert [item["score"] for item in result["data"]] == [1.0, 1.0, 1.0]
    assert contents(search(api, namespace=ns, query="")) == ["first", "second", "third"]
    assert contents(search(api, namespace=ns, query="   ")) == ["first", "second", "third"]


def test_search_distinctive_word_ranks_first(api: httpx.Client) -> None:
    ns = new_ns()
    for text in [
        "The user likes jazz music and plays piano",
        "The user owns a cat called Miso",
        "The user practices the xylophone every evening",
        "The user likes music festivals in summer",
        "The user drinks green tea",
    ]:
        create(api, ns, text)
    result = search(api, query="xylophone", namespace=ns)
    assert result["data"], "the matching memory is found"
    assert (
        result["data"][0]["memory"]["content"] == "The user practices the xylophone every evening"
    )
    scores = [item["score"] for item in result["data"]]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)


def test_search_ranks_by_relevance_with_scores_in_range(api: httpx.Client) -> None:
    ns = new_ns()
    create(api, ns, "Works night shifts at the hospital")
    create(api, ns, "Enjoys the night sky")
    create(api, ns, "Changed shifts last week")
    create(api, ns, "Unrelated memory about gardening")
    result = search(api, query="night shifts", namespace=ns)
    assert result["data"][0]["memory"]["content"] == "Works night shifts at the hospital"
    scores = [item["score"] for item in result["data"]]
    assert all(isinstance(s, int | float) and 0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert len(scores) <= 4


@pytest.mark.parametrize(
    "query",
    [
        '"AND OR (',
        "AND",
        "OR NOT",
        "NEAR(a b)",
        "a*",
        "*",
        "-x",
        "content:foo",
        "tags:bar",
        "^start",
        "x + y",
        "'; DROP TABLE memories; --",
        '"',
        ")",
        "{}[]",
        "%_\\",
        "\u0000",
        "😀",
        "🎉 party",
    ],
)
def test_search_query_syntax_is_never_an_error(api: httpx.Client, query: str) -> None:
    ns = new_ns()
    create(api, ns, "AND OR NOT near foo bar party start content tags")
    result = search(api, query=query, namespace=ns)
    for item in result["data"]:
        assert 0.0 <= item["score"] <= 1.0
        assert item["memory"]["namespace"] == ns


@pytest.mark.parametrize(
    ("content", "query"),
    [
        ("привет мир как дела", "привет"),
        ("日本語のテキスト", "日本語のテキスト"),
        ("Ελληνικά κείμενο εδώ", "κείμενο"),
        ("مرحبا بالعالم", "مرحبا"),
        ("café crème brûlée", "brûlée"),
    ],
)
def test_search_finds_other_scripts(api: httpx.Client, content: str, query: str) -> None:
    ns = new_ns()
    create(api, ns, content)
    create(api, ns, "plain english text")
    result = search(api, query=query, namespace=ns)
    assert contents(result)[:1] == [content]


def test_search_result_memories_are_full_objects(api: httpx.Client) -> None:
    ns = new_ns()
    created = create(api, ns, "full object please", tags=["t"], metadata={"m": 1})
    for body in ({"namespace": ns}, {"namespace": ns, "query": "object"}):
        [item] = search(api, **body)["data"]
        assert_memory_shape(item["memory"])
        assert item["memory"] == created


# -- batch create / delete ---------------------------------------------------------------


def test_batch_create_writes_all_in_order(api: httpx.Client) -> None:
    ns = new_ns()
    items = [
        {"namespace": ns, "content": "one"},
        {"namespace": ns, "content": "two", "type": "episodic", "tags": ["t"]},
        {"namespace": ns, "content": "three", "metadata": {"k": "v"}, "confidence": 0.5},
    ]
    response = api.post("/v1/memories/batch", json={"memories": items})
    assert response.status_code == 201
    result = response.json()
    assert set(result) == ENVELOPE_KEYS
    assert result["count"] == 3
    created = result["data"]
    assert [m["content"] for m in created] == ["one", "two", "three"]
    for memory in created:
        assert_memory_shape(memory)
        assert stable(get(api, memory["id"])) == stable(memory)
    assert created[1]["type"] == "episodic"
    assert created[1]["tags"] == ["t"]
    assert created[2]["metadata"] == {"k": "v"}
    assert created[2]["confidence"] == 0.5
    assert len({m["id"] for m in created}) == 3


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"content": ""}, "content"),
        ({"content": "x", "type": "procedural"}, "type"),
        ({"content": "x", "confidence": 1.5}, "confidence"),
        ({"content": "x", "namespace": ""}, "namespace"),
        ({"content": 5}, "content"),
    ],
)
def test_batch_create_is_all_or_nothing(api: httpx.Client, bad: dict[str, Any], field: str) -> None:
    ns = new_ns()
    items = [{"namespace": ns, "content": "ok 1"}, {"namespace": ns, **bad}]
    items.append({"namespace": ns, "content": "ok 2"})
    response = api.post("/v1/memories/batch", json={"memories": items})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_INPUT"
    assert f"memories[1].{field}" in body["error"] + body.get("details", "")
    assert search(api, namespace=ns)["data"] == [], "nothing was written"


@pytest.mark.parametrize("body", [{"memories": []}, {}, {"memories": "x"}, {"memories": [1]}])
def test_batch_create_rejects_bad_envelopes(api: httpx.Client, body: dict[str, Any]) -> None:
    response = api.post("/v1/memories/batch", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
    assert "memories" in response.json()["error"] + response.json().get("details", "")


def test_batch_delete_removes_the_listed_memories(api: httpx.Client) -> None:
    ns = new_ns()
    a, b, c = (create(api, ns, text) for text in ("a", "b", "c"))
    response = api.post("/v1/memories/batch/delete", json={"ids": [a["id"], c["id"]]})
    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert api.get(f"/v1/memories/{a['id']}").status_code == 404
    assert api.get(f"/v1/memories/{c['id']}").status_code == 404
    assert [r["memory"]["id"] for r in search(api, namespace=ns)["data"]] == [b["id"]]


def test_batch_delete_with_an_unknown_id_deletes_nothing(api: httpx.Client) -> None:
    ns = new_ns()
    a, b = create(api, ns, "a"), create(api, ns, "b")
    missing = str(uuid.uuid4())
    response = api.post("/v1/memories/batch/delete", json={"ids": [a["id"], missing, b["id"]]})
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "NOT_FOUND"
    assert missing in body["error"]
    assert a["id"] not in body["error"]
    assert contents(search(api, namespace=ns)) == ["a", "b"]


@pytest.mark.parametrize("body", [{"ids": []}, {}, {"ids": "x"}, {"ids": [5]}])
def test_batch_delete_rejects_bad_bodies(api: httpx.Client, body: dict[str, Any]) -> None:
    response = api.post("/v1/memories/batch/delete", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
    assert "ids" in response.json()["error"] + response.json().get("details", "")


# -- touch -------------------------------------------------------------------------------


def test_touch_counts_one_access_per_memory(api: httpx.Client) -> None:
    ns = new_ns()
    a, b = create(api, ns, "a"), create(api, ns, "b")
    missing = str(uuid.uuid4())
    response = api.post("/v1/memories/touch", json={"ids": [a["id"], b["id"], missing]})
    assert response.status_code == 200
    assert response.json() == {"touched": 2}
    fetched = get(api, a["id"])
    assert fetched["access_count"] == 1
    assert ts(fetched["accessed_at"]) > ts(a["accessed_at"])
    assert fetched["updated_at"] == a["updated_at"]
    assert get(api, b["id"])["access_count"] == 1


def test_touch_of_unknown_ids_only_touches_nothing(api: httpx.Client) -> None:
    response = api.post("/v1/memories/touch", json={"ids": [str(uuid.uuid4())]})
    assert response.status_code == 200
    assert response.json() == {"touched": 0}


@pytest.mark.parametrize("body", [{"ids": []}, {}, {"ids": "x"}])
def test_touch_rejects_bad_bodies(api: httpx.Client, body: dict[str, Any]) -> None:
    response = api.post("/v1/memories/touch", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"


# -- list --------------------------------------------------------------------------------


def listing(http: httpx.Client, **params: Any) -> dict[str, Any]:
    response = http.get("/v1/memories", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert set(result) == ENVELOPE_KEYS
    assert result["count"] == len(result["data"])
    return result


def names(result: dict[str, Any]) -> list[str]:
    return [m["content"] for m in result["data"]]


def test_list_filters_by_namespace_type_and_tag(api: httpx.Client) -> None:
    ns = new_ns()
    create(api, ns, "s-ab", type="semantic", tags=["a", "b"])
    create(api, ns, "e-a", type="episodic", tags=["a"])
    create(api, ns, "w-b", type="working", tags=["b"])
    create(api, new_ns(), "elsewhere", type="episodic", tags=["a"])

    result = listing(api, namespace=ns)
    assert names(result) == ["s-ab", "e-a", "w-b"]
    assert (result["offset"], result["limit"]) == (0, 100)
    for memory in result["data"]:
        assert_memory_shape(memory)
    assert names(listing(api, namespace=ns, type="episodic")) == ["e-a"]
    assert names(listing(api, namespace=ns, type=["working", "semantic"])) == ["s-ab", "w-b"]
    assert names(listing(api, namespace=ns, tag="a")) == ["s-ab", "e-a"]
    assert names(listing(api, namespace=ns, tag=["a", "b"])) == ["s-ab"]
    assert names(listing(api, namespace=ns, tag="a", type="episodic")) == ["e-a"]


def test_list_include_descendants(api: httpx.Client) -> None:
    root = new_ns("a_b")
    create(api, root, "root")
    create(api, f"{root}/child", "child")
    create(api, f"{root}/child/grand", "grand")
    create(api, f"{root}x", "sibling with the same prefix")
    create(api, root.replace("_", "x") + "/child", "LIKE wildcard lookalike")

    assert names(listing(api, namespace=root)) == ["root"]
    deep = listing(api, namespace=root, include_descendants="true")
    assert names(deep) == ["root", "child", "grand"]
    assert names(listing(api, namespace=f"{root}/child", include_descendants=True)) == [
        "child",
        "grand",
    ]
    assert names(listing(api, namespace=root, include_descendants="false")) == ["root"]


def test_list_pagination_and_clamps(api: httpx.Client) -> None:
    ns = new_ns()
    for i in range(4):
        create(api, ns, f"m{i}")
    page = listing(api, namespace=ns, limit=2, offset=1)
    assert names(page) == ["m1", "m2"]
    assert (page["offset"], page["limit"]) == (1, 2)
    assert listing(api, namespace=ns, limit=5000)["limit"] == 1000
    assert listing(api, namespace=ns, limit=0)["limit"] == 100
    assert listing(api, namespace=ns, limit="abc")["limit"] == 100
    assert listing(api, namespace=ns, offset=10**30)["data"] == []


def test_list_rejects_an_unknown_type(api: httpx.Client) -> None:
    response = api.get("/v1/memories", params={"type": "procedural"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_INPUT"
    assert "type" in body["error"]


def test_list_without_filters_sees_every_namespace(client: httpx.Client) -> None:
    create(client, "default", "d")
    create(client, "no-record", "n")
    result = listing(client)
    assert names(result) == ["d", "n"]


def nested(depth: int) -> dict[str, Any]:
    """An object ``depth`` levels deep (itself the first), alternating objects and arrays."""
    value: Any = {"leaf": True}
    for level in range(depth - 1, 0, -1):  # the outermost wrapping is an object
        value = {"a": value} if level % 2 else [value]
    assert isinstance(value, dict)
    return value


def test_metadata_nested_too_deep_is_refused_and_nothing_is_written(api: httpx.Client) -> None:
    ns = new_ns("deep")
    ok = create(api, ns, "as deep as allowed", metadata=nested(32))
    assert get(api, ok["id"])["metadata"] == nested(32)
    relation = api.post(
        f"/v1/memories/{ok['id']}/relations",
        json={"target_id": ok["id"], "type": "related_to", "metadata": nested(40)},
    )
    for response in (
        api.post("/v1/memories", json={"namespace": ns, "content": "x", "metadata": nested(33)}),
        api.post(
            "/v1/memories/batch",
            json={"memories": [{"namespace": ns, "content": "y", "metadata": nested(300)}]},
        ),
        api.put(f"/v1/memories/{ok['id']}", json={"metadata": nested(300)}),
        relation,
    ):
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["code"] == "INVALID_INPUT"
        assert "must not nest deeper than 32 levels" in body["error"] + body.get("details", "")
    # Nothing was written, and everything stored can still be read and searched.
    listed = api.get("/v1/memories", params={"namespace": ns}).json()
    assert [m["id"] for m in listed["data"]] == [ok["id"]]
    assert get(api, ok["id"])["metadata"] == nested(32)
    found = api.post("/v1/memories/search", json={"namespace": ns, "query": "deep"})
    assert found.status_code == 200
