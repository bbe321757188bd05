"""Bad input over real HTTP: always a 4xx with the error envelope naming the field,
never a 500, and never a partial write."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, running_server

JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Case:
    """One bad request. ``body`` is sent as raw bytes (str is JSON-encoded first)."""

    id: str
    method: str
    path: str
    body: bytes
    names: str | None  # text the error must mention (the field), None if not applicable
    status: int = 400
    code: str = "INVALID_INPUT"
    headers: dict[str, str] = field(default_factory=dict)


def raw(value: Any) -> bytes:
    return json.dumps(value).encode()


def mem(**fields: Any) -> bytes:
    """A create body: a valid memory with ``fields`` replaced (``...`` drops a key)."""
    body = {"namespace": "default", "content": "valid content"}
    body.update(fields)
    return raw({k: v for k, v in body.items() if v is not ...})


CREATE = [
    Case("malformed-json", "POST", "/v1/memories", b'{"namespace": "default", "content": ', None),
    Case("trailing-garbage", "POST", "/v1/memories", b'{"namespace":"a","content":"b"} x', None),
    # Python's parser takes these; JSON has no such values.
    Case(
        "nan",
        "POST",
        "/v1/memories",
        b'{"namespace":"a","content":"b","metadata":{"x":NaN}}',
        "NaN",
    ),
    Case(
        "infinity",
        "POST",
        "/v1/memories",
        b'{"namespace":"a","content":"b","confidence":Infinity}',
        "Infinity",
    ),
    Case(
        "search-nan",
        "POST",
        "/v1/memories/search",
        b'{"query":"x","min_score":-Infinity}',
        "Infinity",
    ),
    Case(
        "huge-float",
        "POST",
        "/v1/memories",
        b'{"namespace":"a","content":"b","metadata":{"x":1e400}}',
        "out of range",
    ),
    Case("array-body", "POST", "/v1/memories", raw([{"namespace": "a", "content": "b"}]), None),
    Case("string-body", "POST", "/v1/memories", raw("remember this"), None),
    Case("number-body", "POST", "/v1/memories", b"42", None),
    Case("null-body", "POST", "/v1/memories", b"null", None),
    Case("empty-body", "POST", "/v1/memories", b"", None),
    Case("empty-object", "POST", "/v1/memories", b"{}", "content"),
    Case("missing-content", "POST", "/v1/memories", mem(content=...), "content"),
    Case("missing-namespace", "POST", "/v1/memories", mem(namespace=...), "namespace"),
    Case("content-number", "POST", "/v1/memories", mem(content=5), "content"),
    Case("content-null", "POST", "/v1/memories", mem(content=None), "content"),
    Case("content-list", "POST", "/v1/memories", mem(content=["x"]), "content"),
    Case("content-object", "POST", "/v1/memories", mem(content={"a": 1}), "content"),
    Case("content-empty", "POST", "/v1/memories", mem(content=""), "content"),
    Case("content-blank", "POST", "/v1/memories", mem(content="  \n\t "), "content"),
    Case("tags-string", "POST", "/v1/memories", mem(tags="x"), "tags"),
    Case("tags-numbers", "POST", "/v1/memories", mem(tags=[1, 2]), "tags"),
    Case("tags-empty-string", "POST", "/v1/memories", mem(tags=[""]), "tags"),
    Case("tags-control-char", "POST", "/v1/memories", mem(tags=["a\u0000"]), "tags"),
    Case("metadata-list", "POST", "/v1/memories", mem(metadata=[]), "metadata"),
    Case("metadata-string", "POST", "/v1/memories", mem(metadata="x"), "metadata"),
    Case("confidence-word", "POST", "/v1/memories", mem(confidence="high"), "confidence"),
    Case("confidence-negative", "POST", "/v1/memories", mem(confidence=-0.1), "confidence"),
    Case("confidence-above-one", "POST", "/v1/memories", mem(confidence=1.5), "confidence"),
    Case(
        "confidence-nan",
        "POST",
        "/v1/memories",
        b'{"namespace":"d","content":"c","confidence":NaN}',
        "NaN is not a JSON value",
    ),
    Case(
        "confidence-infinite",
        "POST",
        "/v1/memories",
        b'{"namespace":"d","content":"c","confidence":1e999}',
        "1e999 is out of range",
    ),
    Case("type-unknown", "POST", "/v1/memories", mem(type="procedural"), "type"),
    Case("type-number", "POST", "/v1/memories", mem(type=1), "type"),
    Case("type-uppercase", "POST", "/v1/memories", mem(type="SEMANTIC"), "type"),
    Case("source-unknown", "POST", "/v1/memories", mem(source="system"), "source"),
    Case("namespace-empty", "POST", "/v1/memories", mem(namespace=""), "namespace"),
    Case("namespace-blank", "POST", "/v1/memories", mem(namespace="   "), "namespace"),
    Case("namespace-too-long", "POST", "/v1/memories", mem(namespace="a" * 256), "namespace"),
    Case("namespace-nul", "POST", "/v1/memories", mem(namespace="a\u0000b"), "namespace"),
    Case("namespace-newline", "POST", "/v1/memories", mem(namespace="a\nb"), "namespace"),
    Case("namespace-tab", "POST", "/v1/memories", mem(namespace="a\tb"), "namespace"),
    Case("namespace-escape", "POST", "/v1/memories", mem(namespace="a\u001bb"), "namespace"),
    Case("namespace-zero-width", "POST", "/v1/memories", mem(namespace="a\u200bb"), "namespace"),
    Case("namespace-number", "POST", "/v1/memories", mem(namespace=7), "namespace"),
    Case("created-at-garbage", "POST", "/v1/memories", mem(created_at="yesterday"), "created_at"),
    Case(
        "created-at-out-of-range",
        "POST",
        "/v1/memories",
        mem(created_at="0001-01-01T00:00:00+05:00"),
        "created_at",
    ),
    Case(
        "invalid-utf8",
        "POST",
        "/v1/memories",
        b'{"namespace":"default","content":"\xff\xfe"}',
        None,
    ),
]

UPDATE = [
    Case("put-content-empty", "PUT", "/v1/memories/{id}", raw({"content": ""}), "content"),
    Case("put-content-blank", "PUT", "/v1/memories/{id}", raw({"content": " "}), "content"),
    Case("put-content-number", "PUT", "/v1/memories/{id}", raw({"content": 5}), "content"),
    Case("put-tags-string", "PUT", "/v1/memories/{id}", raw({"tags": "x"}), "tags"),
    Case("put-metadata-list", "PUT", "/v1/memories/{id}", raw({"metadata": []}), "metadata"),
    Case("put-confidence-high", "PUT", "/v1/memories/{id}", raw({"confidence": 1.5}), "confidence"),
    Case("put-confidence-low", "PUT", "/v1/memories/{id}", raw({"confidence": -0.1}), "confidence"),
    Case("put-confidence-word", "PUT", "/v1/memories/{id}", raw({"confidence": "x"}), "confidence"),
    Case("put-malformed", "PUT", "/v1/memories/{id}", b'{"content": "x"', None),
    Case("put-array", "PUT", "/v1/memories/{id}", raw([{"content": "x"}]), None),
    Case("put-empty-body", "PUT", "/v1/memories/{id}", b"", None),
]

SEARCH = [
    Case("search-malformed", "POST", "/v1/memories/search", b'{"query": ', None),
    Case("search-array", "POST", "/v1/memories/search", raw([]), None),
    Case("search-string", "POST", "/v1/memories/search", raw("find"), None),
    Case("search-limit-word", "POST", "/v1/memories/search", raw({"limit": "ten"}), "limit"),
    Case("search-offset-word", "POST", "/v1/memories/search", raw({"offset": "x"}), "offset"),
    Case("search-types-bogus", "POST", "/v1/memories/search", raw({"types": ["x"]}), "types"),
    Case("search-types-str", "POST", "/v1/memories/search", raw({"types": "semantic"}), "types"),
    Case("search-tags-string", "POST", "/v1/memories/search", raw({"tags": "x"}), "tags"),
    Case("search-namespace-num", "POST", "/v1/memories/search", raw({"namespace": 5}), "namespace"),
    Case("search-query-number", "POST", "/v1/memories/search", raw({"query": 5}), "query"),
    Case("search-query-long", "POST", "/v1/memories/search", raw({"query": "q" * 5000}), "query"),
]

NAMESPACES = [
    Case("ns-malformed", "POST", "/v1/namespaces", b'{"name": ', None),
    Case(
        "ns-scoring-surrogate",
        "POST",
        "/v1/namespaces",
        b'{"name": "s", "config": {"custom_scoring": {"\\ud800": 1}}}',
        "custom_scoring",
    ),
    Case("ns-array", "POST", "/v1/namespaces", raw([{"name": "x"}]), None),
    Case("ns-missing-name", "POST", "/v1/namespaces", raw({"parent": "p"}), "name"),
    Case("ns-name-empty", "POST", "/v1/namespaces", raw({"name": ""}), "name"),
    Case("ns-name-blank", "POST", "/v1/namespaces", raw({"name": "  "}), "name"),
    Case("ns-name-too-long", "POST", "/v1/namespaces", raw({"name": "n" * 256}), "name"),
    # Past what a 64-bit integer holds (a store's, and a JavaScript client's precision).
    Case(
        "ns-budget-huge",
        "POST",
        "/v1/namespaces",
        raw({"name": "huge", "config": {"token_budget": 10**20}}),
        "token_budget",
    ),
    Case("ns-name-nul", "POST", "/v1/namespaces", raw({"name": "a\u0000b"}), "name"),
    Case("ns-name-newline", "POST", "/v1/namespaces", raw({"name": "a\nb"}), "name"),
    Case("ns-name-number", "POST", "/v1/namespaces", raw({"name": 3}), "name"),
    Case("ns-parent-number", "POST", "/v1/namespaces", raw({"name": "ok", "parent": 3}), "parent"),
    Case("ns-config-list", "POST", "/v1/namespaces", raw({"name": "ok", "config": []}), "config"),
    Case(
        "ns-allowed-types",
        "POST",
        "/v1/namespaces",
        raw({"name": "ok", "config": {"allowed_types": ["semantic", "procedural"]}}),
        "allowed_types",
    ),
    Case(
        "ns-negative-max",
        "POST",
        "/v1/namespaces",
        raw({"name": "ok", "config": {"max_memories": -1}}),
        "max_memories",
    ),
    Case(
        "ns-budget-word",
        "POST",
        "/v1/namespaces",
        raw({"name": "ok", "config": {"token_budget": "lots"}}),
        "token_budget",
    ),
    Case(
        "ns-scoring-word",
        "POST",
        "/v1/namespaces",
        raw({"name": "ok", "config": {"custom_scoring": {"a": "x"}}}),
        "custom_scoring",
    ),
    Case("ns-put-malformed", "PUT", "/v1/namespaces/default", b"{", None),
    Case("ns-put-config-string", "PUT", "/v1/namespaces/default", raw({"config": "x"}), "config"),
    Case(
        "ns-put-allowed-types",
        "PUT",
        "/v1/namespaces/default",
        raw({"config": {"allowed_types": ["bogus"]}}),
        "allowed_types",
    ),
]

BATCH = [
    Case("batch-not-list", "POST", "/v1/memories/batch", raw({"memories": "x"}), "memories"),
    Case("batch-empty", "POST", "/v1/memories/batch", raw({"memories": []}), "memories"),
    Case("batch-missing", "POST", "/v1/memories/batch", raw({}), "memories"),
    Case(
        "batch-one-bad",
        "POST",
        "/v1/memories/batch",
        raw({"memories": [{"namespace": "d", "content": "ok"}, {"namespace": "d", "content": ""}]}),
        "memories[1].content",
    ),
    Case("batch-delete-not-list", "POST", "/v1/memories/batch/delete", raw({"ids": 1}), "ids"),
    Case("batch-delete-empty", "POST", "/v1/memories/batch/delete", raw({"ids": []}), "ids"),
    Case("batch-delete-numbers", "POST", "/v1/memories/batch/delete", raw({"ids": [1]}), "ids"),
    Case("touch-not-list", "POST", "/v1/memories/touch", raw({"ids": "x"}), "ids"),
]

# Valid JSON, but a lone surrogate ("\\ud800") is not Unicode text: it can be neither
# stored nor sent back as UTF-8, whichever field carries it.
LONE = "\\ud800"
SURROGATES = [
    Case(f"lone-surrogate-{name}", method, url, body.replace("LONE", LONE).encode(), names)
    for name, method, url, body, names in [
        ("content", "POST", "/v1/memories", '{"namespace":"d","content":"LONE"}', "content"),
        ("namespace", "POST", "/v1/memories", '{"namespace":"LONE","content":"c"}', None),
        ("tag", "POST", "/v1/memories", '{"namespace":"d","content":"c","tags":["LONE"]}', None),
        (
            "metadata-value",
            "POST",
            "/v1/memories",
            '{"namespace":"d","content":"c","metadata":{"k":"LONE"}}',
            None,
        ),
        (
            "metadata-key",
            "POST",
            "/v1/memories",
            '{"namespace":"d","content":"c","metadata":{"LONE":1}}',
            None,
        ),
        (
            "batch",
            "POST",
            "/v1/memories/batch",
            '{"memories":[{"namespace":"d","content":"ok"},{"namespace":"d","content":"c",'
            '"metadata":{"k":["LONE"]}}]}',
            None,
        ),
        ("put-metadata", "PUT", "/v1/memories/{id}", '{"metadata":{"k":"LONE"}}', None),
        ("put-tags", "PUT", "/v1/memories/{id}", '{"tags":["a","LONE"]}', None),
        ("search-namespace", "POST", "/v1/memories/search", '{"namespace":"LONE"}', None),
        ("search-tags", "POST", "/v1/memories/search", '{"tags":["LONE"]}', None),
        ("ns-name", "POST", "/v1/namespaces", '{"name":"LONE"}', None),
        ("ns-parent", "POST", "/v1/namespaces", '{"name":"n-lone","parent":"LONE"}', None),
        ("ns-template", "POST", "/v1/namespaces", '{"name":"n-lone","template":"LONE"}', None),
    ]
]

ALL_CASES = CREATE + UPDATE + SEARCH + NAMESPACES + BATCH + SURROGATES


# -- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One server for the table (a failed request must leave the store as it was)."""
    with running_server(tmp_path_factory.mktemp("bad-input")) as http:
        yield http


@pytest.fixture(scope="module")
def target(api: httpx.Client) -> dict[str, Any]:
    """The memory the PUT cases aim at."""
    response = api.post(
        "/v1/memories",
        json={"namespace": "target", "content": "original", "tags": ["t"], "metadata": {"k": 1}},
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def snapshot(http: httpx.Client) -> dict[str, Any]:
    """Everything a bad request could have changed, read without touching access stats."""
    stats = http.get("/v1/stats").json()
    listed = http.get("/v1/memories", params={"limit": 1000}).json()["data"]
    namespaces = http.get("/v1/namespaces", params={"limit": 1000}).json()["data"]
    return {
        "total_memories": stats["total_memories"],
        "total_namespaces": stats["total_namespaces"],
        "memories": listed,
        "namespaces": namespaces,
    }


def assert_rejected(response: httpx.Response, *, status: int, code: str, names: str | None) -> None:
    assert response.status_code < 500, response.text
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) <= {"error", "code", "details"}, body
    assert isinstance(body["error"], str)
    assert body["error"]
    assert body["code"] == code
    if "details" in body:
        assert isinstance(body["details"], str)
        assert body["details"]
    if names is None:
        assert body["error"] == "invalid request body"
    else:
        text = f"{body['error']} {body.get('details', '')}".lower()
        assert names.lower() in text, body


# -- the table ---------------------------------------------------------------------------


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in ALL_CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.id)
def test_bad_input_is_rejected_with_the_envelope(
    api: httpx.Client, target: dict[str, Any], case: Case
) -> None:
    before = snapshot(api)
    response = api.request(
        case.method,
        case.path.format(id=target["id"]),
        content=case.body,
        headers={"Content-Type": "application/json", **case.headers},
    )
    assert_rejected(response, status=case.status, code=case.code, names=case.names)
    assert snapshot(api) == before, "a rejected request wrote nothing"


@pytest.mark.parametrize("content_type", ["text/plain", None])
@pytest.mark.parametrize(
    "case",
    [c for c in ALL_CASES if c.id in {"malformed-json", "content-empty", "type-unknown"}],
    ids=lambda case: case.id,
)
def test_bad_input_without_a_json_content_type(
    api: httpx.Client, case: Case, content_type: str | None
) -> None:
    before = snapshot(api)
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.request(case.method, case.path, content=case.body, headers=headers)
    assert_rejected(response, status=case.status, code=case.code, names=case.names)
    assert snapshot(api) == before


def test_checklist_empty_body_and_empty_content(api: httpx.Client) -> None:
    # Compatibility checklist item 9: both are "invalid request body".
    for body in ({}, {"namespace": "default", "content": ""}):
        response = api.post("/v1/memories", json=body)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid request body"
        assert response.json()["code"] == "INVALID_INPUT"


def test_put_with_empty_content_leaves_the_memory_alone(
    api: httpx.Client, target: dict[str, Any]
) -> None:
    response = api.put(f"/v1/memories/{target['id']}", json={"content": ""})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
    [stored] = [
        m
        for m in api.get("/v1/memories", params={"namespace": "target"}).json()["data"]
        if m["id"] == target["id"]
    ]
    assert stored["content"] == "original"
    assert stored["updated_at"] == target["updated_at"]


# -- bodies are JSON whatever the Content-Type says ---------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/vnd.api+json",
        # JSON by name, but not types the framework decodes itself
        "text/json",
        "application/x-json",
        "application/jsonl",
    ],
)
def test_bodies_are_parsed_as_json_whatever_the_content_type(
    api: httpx.Client, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    ns = f"ct-{uuid.uuid4().hex[:10]}"

    created = api.post(
        "/v1/memories",
        content=raw({"namespace": ns, "content": "typed loosely", "tags": ["ct"]}),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    memory = created.json()
    assert (memory["namespace"], memory["content"], memory["tags"]) == (
        ns,
        "typed loosely",
        ["ct"],
    )

    updated = api.put(
        f"/v1/memories/{memory['id']}", content=raw({"content": "changed"}), headers=headers
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["content"] == "changed"

    found = api.post("/v1/memories/search", content=raw({"namespace": ns}), headers=headers)
    assert found.status_code == 200, found.text
    assert [r["memory"]["id"] for r in found.json()["data"]] == [memory["id"]]

    namespace = api.post("/v1/namespaces", content=raw({"name": ns}), headers=headers)
    assert namespace.status_code == 201, namespace.text
    assert namespace.json()["name"] == ns
    config = api.put(
        f"/v1/namespaces/{ns}", content=raw({"config": {"token_budget": 9}}), headers=headers
    )
    assert config.status_code == 200, config.text
    assert config.json()["config"]["token_budget"] == 9

    batch = api.post(
        "/v1/memories/batch",
        content=raw({"memories": [{"namespace": ns, "content": "b"}]}),
        headers=headers,
    )
    assert batch.status_code == 201, batch.text


# -- size limits ---------------------------------------------------------------------------


def test_oversized_content_is_rejected(serve: Callable[..., LiveServer]) -> None:
    server = serve(max_content_chars=100)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        total = http.get("/v1/stats").json()["total_memories"]

        response = http.post("/v1/memories", json={"namespace": "d", "content": "x" * 101})
        assert_rejected(response, status=400, code="INVALID_INPUT", names="content")
        assert "100" in response.json()["error"]

        batch = [{"namespace": "d", "content": "ok"}, {"namespace": "d", "content": "y" * 101}]
        response = http.post("/v1/memories/batch", json={"memories": batch})
        assert_rejected(response, status=400, code="INVALID_INPUT", names="content")
        assert http.get("/v1/stats").json()["total_memories"] == total

        # The limit counts characters, not bytes.
        exact = http.post("/v1/memories", json={"namespace": "d", "content": "é" * 100})
        assert exact.status_code == 201
        memory_id = exact.json()["id"]

        response = http.put(f"/v1/memories/{memory_id}", json={"content": "z" * 101})
        assert_rejected(response, status=400, code="INVALID_INPUT", names="content")
        assert http.get(f"/v1/memories/{memory_id}").json()["content"] == "é" * 100
        assert http.get("/v1/stats").json()["total_memories"] == total + 1


# -- no junk body is a server error ------------------------------------------------------

JUNK_BODIES = [
    b"",
    b"null",
    b"[]",
    b"0",
    b'"text"',
    b"{",
    b"}",
    b"\xff\xfe\x00",
    b"\x00",
    b"1e999999",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"x":' * 50_000 + b"1" + b"}" * 50_000,
    '["\ud800"]'.encode("utf-8", "surrogatepass"),
]
WRITE_ROUTES = [
    ("POST", "/v1/memories"),
    ("PUT", "/v1/memories/{id}"),
    ("POST", "/v1/memories/search"),
    ("POST", "/v1/memories/batch"),
    ("POST", "/v1/memories/batch/delete"),
    ("POST", "/v1/memories/touch"),
    ("POST", "/v1/namespaces"),
    ("PUT", "/v1/namespaces/default"),
]


@pytest.mark.parametrize(("method", "url"), WRITE_ROUTES, ids=lambda v: str(v))
def test_junk_bodies_are_never_a_server_error(
    api: httpx.Client, target: dict[str, Any], method: str, url: str
) -> None:
    before = snapshot(api)
    for body in JUNK_BODIES:
        response = api.request(method, url.format(id=target["id"]), content=body)
        assert response.status_code < 500, (body[:20], response.text)
        if response.status_code >= 400:
            assert response.status_code == 400, (body[:20], response.text)
            assert response.json()["code"] == "INVALID_INPUT"
            assert response.json()["error"]
    assert snapshot(api) == before


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_bodies_in_any_json_encoding_are_read(api: httpx.Client, encoding: str) -> None:
    """JSON may come as UTF-8 with a byte order mark, or as UTF-16 or -32 (RFC 8259
    readers may accept them): the text, not the bytes, is what is stored."""
    body = json.dumps({"namespace": "encodings", "content": f"Zoë in {encoding}"})
    response = api.post("/v1/memories", content=body.encode(encoding))
    assert response.status_code == 201, response.text
    assert response.json()["content"] == f"Zoë in {encoding}"


def test_escaped_surrogate_pairs_are_fine(api: httpx.Client) -> None:
    pair = "\\ud83d\\ude00"  # JSON's spelling of U+1F600
    body = (
        f'{{"namespace":"pairs","content":"smile {pair}","tags":["{pair}"],'
        f'"metadata":{{"{pair}":"{pair}"}}}}'
    )
    response = api.post("/v1/memories", content=body.encode())
    assert response.status_code == 201, response.text
    memory = response.json()
    assert memory["content"] == "smile \U0001f600"
    assert memory["tags"] == ["\U0001f600"]
    assert memory["metadata"] == {"\U0001f600": "\U0001f600"}
    assert api.get(f"/v1/memories/{memory['id']}").json()["content"] == "smile 😀"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/memories", {"namespace": "d", "content": 123}, "content"),
        ("/v1/memories", {"namespace": "d", "content": None}, "content"),
        ("/v1/memories", {"namespace": "", "content": "x"}, "namespace"),
        ("/v1/memories", {"namespace": "d", "content": "x", "confidence": "high"}, "confidence"),
        ("/v1/memories", {"namespace": "d", "content": "x", "created_at": "soon"}, "created_at"),
        ("/v1/namespaces", {"name": ""}, "name"),
        ("/v1/namespaces", {"name": None}, "name"),
        ("/v1/context", {"query": None}, "query"),
        ("/v1/memories/search", {"limit": "ten"}, "limit"),
    ],
)
def test_wrong_json_types_and_empty_required_fields_are_an_invalid_body(
    api: httpx.Client, path: str, body: dict[str, Any], field: str
) -> None:
    """The contract: "invalid request body" for decoding and required-field failures,
    with details naming the field."""
    response = api.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert (error["error"], error["code"]) == ("invalid request body", "INVALID_INPUT")
    assert field in error["details"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"namespace": "d", "content": "x", "type": "procedural"}, "invalid type: "),
        ({"namespace": "d", "content": "x", "confidence": 2}, "invalid confidence: "),
        ({"namespace": "  ", "content": "x"}, "invalid namespace: "),
    ],
)
def test_bad_values_name_their_field(api: httpx.Client, body: dict[str, Any], error: str) -> None:
    response = api.post("/v1/memories", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(error)
