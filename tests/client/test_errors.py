"""Each error class, produced by a real server's answer (MAIA's own where it gives that
answer on demand, else a scripted local HTTP server), for both clients."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from maia.client import (
    AlreadyExistsError,
    APIError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    MaiaClientError,
    NetworkError,
    NotFoundError,
    PayloadTooLargeError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    UnavailableError,
    UnexpectedResponseError,
    ValidationError,
)
from maia.client.errors import error_from_response, parse_retry_after
from tests.client.conftest import Connect, Reply, ScriptedServer, memory_json
from tests.conftest import LiveServer

MISSING = "00000000-0000-4000-8000-000000000000"


def test_not_found(api: Any) -> None:
    with pytest.raises(NotFoundError) as caught:
        api.get_memory(MISSING)
    err = caught.value
    assert isinstance(err, APIError)
    assert isinstance(err, MaiaClientError)
    assert (err.status, err.code) == (404, "NOT_FOUND")
    assert err.message == f"memory not found: {MISSING}"
    assert str(err) == f"memory not found: {MISSING} (NOT_FOUND)"
    assert err.body == {"error": err.message, "code": "NOT_FOUND"}
    assert err.request_id
    assert err.retry_after is None
    with pytest.raises(NotFoundError, match="namespace not found: nowhere"):
        api.get_namespace("nowhere")


def test_invalid_input(api: Any, ns: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        api.create_memory(ns, "x", confidence=7)
    err = caught.value
    assert (err.status, err.code) == (400, "INVALID_INPUT")
    assert err.message == "invalid confidence: must be between 0 and 1"
    assert err.details
    with pytest.raises(InvalidInputError, match="invalid type"):
        api.create_memory(ns, "x", type="procedural")


def test_already_exists(api: Any, ns: str) -> None:
    api.create_namespace(ns)
    with pytest.raises(AlreadyExistsError) as caught:
        api.create_namespace(ns)
    assert isinstance(caught.value, ConflictError)
    assert (caught.value.status, caught.value.code) == (409, "ALREADY_EXISTS")
    assert caught.value.message == f"namespace already exists: {ns}"


def test_payload_too_large(connect: Connect, serve: Callable[..., LiveServer]) -> None:
    api = connect(serve(max_request_bytes=2048).url)
    with pytest.raises(PayloadTooLargeError) as caught:
        api.create_memory("default", "x" * 5000)
    assert isinstance(caught.value, InvalidInputError)
    assert (caught.value.status, caught.value.code) == (413, "PAYLOAD_TOO_LARGE")
    assert caught.value.message == "request body too large"


def test_unauthorized(
    connect: Connect, serve: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = serve(api_key="s3cret").url
    with pytest.raises(UnauthorizedError) as caught:
        connect(url).stats()
    err = caught.value
    assert (err.status, err.code) == (401, "UNAUTHORIZED")
    assert err.message == "unauthorized: API key is required"
    with pytest.raises(UnauthorizedError, match="invalid API key"):
        connect(url, api_key="wrong").stats()
    assert connect(url).health().status == "healthy"  # public path
    assert connect(url, api_key="s3cret").stats().total_namespaces == 1
    assert connect(url, headers={"Authorization": "Bearer s3cret"}).stats()
    monkeypatch.setenv("MAIA_API_KEY", "s3cret")
    assert connect(url).stats().total_namespaces == 1


def test_rate_limited(connect: Connect, serve: Callable[..., LiveServer]) -> None:
    api = connect(serve(rate_limit_rps=1).url, max_retries=0)
    api.health()
    api.health()  # a burst of 2 is allowed
    with pytest.raises(RateLimitedError) as caught:
        api.health()
    err = caught.value
    assert (err.status, err.code) == (429, "RATE_LIMITED")
    assert err.message == "rate_limit_exceeded: too many requests, please slow down"
    assert err.retry_after is not None
    assert err.retry_after >= 1


def test_quota_exceeded(api: Any, ns: str) -> None:
    api.create_namespace(ns, config={"max_memories": 1})
    api.create_memory(ns, "one")
    with pytest.raises(QuotaExceededError) as caught:
        api.create_memory(ns, "two")
    err = caught.value
    assert (err.status, err.code) == (429, "QUOTA_EXCEEDED")
    assert (err.limit, err.current) == (1, 1)
    assert not isinstance(err, RateLimitedError)


SCRIPTED_ERRORS = [
    (
        403,
        {"error": "forbidden", "message": "namespace access denied"},
        ForbiddenError,
        "FORBIDDEN",
    ),
    (
        403,
        {"error": "insufficient scope", "code": "INSUFFICIENT_SCOPE", "required": ["write"]},
        ForbiddenError,
        "INSUFFICIENT_SCOPE",
    ),
    (409, {"error": "changed meanwhile", "code": "CONFLICT"}, ConflictError, "CONFLICT"),
    (
        429,
        {"error": "memory quota exceeded", "limit": 10, "current": 10},
        QuotaExceededError,
        "QUOTA_EXCEEDED",
    ),
    (
        500,
        {"error": "internal server error", "code": "INTERNAL_ERROR"},
        ServerError,
        "INTERNAL_ERROR",
    ),
    (502, "Bad Gateway", ServerError, None),
    (503, {"error": "shutting down", "code": "UNAVAILABLE"}, UnavailableError, "UNAVAILABLE"),
    (404, "404 page not found", NotFoundError, "NOT_FOUND"),
    (
        405,
        {"error": "method not allowed", "code": "METHOD_NOT_ALLOWED"},
        APIError,
        "METHOD_NOT_ALLOWED",
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    SCRIPTED_ERRORS,
    ids=[f"{s[0]}-{s[2].__name__}" for s in SCRIPTED_ERRORS],
)
def test_scripted_errors(
    connect: Connect,
    scripted: ScriptedServer,
    status: int,
    body: Any,
    cls: type[APIError],
    code: str | None,
) -> None:
    scripted.script(Reply(status, body, headers={"X-Request-ID": "r-1"}))
    with pytest.raises(APIError) as caught:
        connect(scripted.url, max_retries=0).get_memory("m1")
    err = caught.value
    assert type(err) is cls
    assert err.status == status
    assert err.request_id == "r-1"
    assert err.code == code
    if isinstance(body, str):
        assert err.message == body
        assert err.body == body


def test_quota_from_tenant_middleware_has_limits(
    connect: Connect, scripted: ScriptedServer
) -> None:
    scripted.script(Reply(429, {"error": "storage quota exceeded", "limit": 5, "current": 6}))
    with pytest.raises(QuotaExceededError) as caught:
        connect(scripted.url).create_memory("a", "b")
    assert (caught.value.limit, caught.value.current) == (5, 6)
    assert caught.value.message == "storage quota exceeded"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, "<html>not MAIA</html>", headers={"Content-Type": "text/html"}),
        Reply(200, {"id": "only an id"}),
        Reply(201, memory_json(type="procedural")),
    ],
    ids=["html", "wrong-shape", "unknown-enum"],
)
def test_unexpected_response(connect: Connect, scripted: ScriptedServer, reply: Reply) -> None:
    scripted.script(reply)
    with pytest.raises(UnexpectedResponseError) as caught:
        connect(scripted.url).get_memory("m1")
    assert caught.value.status == reply.status
    assert "GET /v1/memories/m1" in caught.value.message


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_network_error(connect: Connect, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(NetworkError) as caught:
        connect(url, max_retries=0).health()
    assert caught.value.message.startswith(f"cannot reach {url}: ")
    assert isinstance(caught.value, MaiaClientError)


def test_timeout_is_a_network_error(connect: Connect) -> None:
    with socket.socket() as sock:  # listens, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(NetworkError, match="timed out waiting for"):
            connect(url, timeout=0.2, max_retries=0).stats()


VALIDATION_CASES: list[tuple[str, Callable[[Any], Any], str]] = [
    ("create-namespace", lambda c: c.create_memory("", "x"), "namespace"),
    ("create-content", lambda c: c.create_memory("a", ""), "content"),
    ("remember", lambda c: c.remember("a", " \n"), "content"),
    ("get", lambda c: c.get_memory(""), "id"),
    ("update", lambda c: c.update_memory("", content="x"), "id"),
    ("update-content", lambda c: c.update_memory("m1", content=" "), "content"),
    ("delete", lambda c: c.delete_memory(""), "id"),
    ("forget", lambda c: c.forget(""), "id"),
    ("batch-empty", lambda c: c.create_memories([]), "memories"),
    (
        "batch-item",
        lambda c: c.create_memories([{"namespace": "a", "content": ""}]),
        "memories[0].content",
    ),
    ("delete-many", lambda c: c.delete_memories([]), "ids"),
    ("touch", lambda c: c.touch_memories(["a", ""]), "ids[1]"),
    ("namespace-name", lambda c: c.create_namespace(""), "name"),
    ("get-namespace", lambda c: c.get_namespace(""), "namespace"),
    ("ns-memories", lambda c: c.list_namespace_memories(""), "namespace"),
    ("context", lambda c: c.get_context("  "), "query"),
    ("recall", lambda c: c.recall(""), "query"),
    ("relation", lambda c: c.create_relation("m1", ""), "target_id"),
    ("tenant", lambda c: c.get_tenant(""), "tenant_id"),
    ("api-key", lambda c: c.create_api_key("t1", ""), "name"),
    ("revoke", lambda c: c.revoke_api_key(""), "key"),
]


@pytest.mark.parametrize(
    ("case", "action", "field"), VALIDATION_CASES, ids=[c[0] for c in VALIDATION_CASES]
)
def test_validation_error_sends_nothing(
    connect: Connect,
    scripted: ScriptedServer,
    case: str,
    action: Callable[[Any], Any],
    field: str,
) -> None:
    scripted.script(Reply(500, {"error": "should not be called"}))
    with pytest.raises(ValidationError) as caught:
        action(connect(scripted.url))
    assert caught.value.field == field
    assert caught.value.message in (
        f"invalid {field}: must not be empty",
        f"invalid {field}: must not be blank",
    )
    assert caught.value.code == "INVALID_INPUT"
    assert isinstance(caught.value, ValueError)
    assert scripted.seen == []


def test_error_mapping_without_a_server() -> None:
    err = error_from_response(429, '{"error":"slow down"}', {"Retry-After": "7"})
    assert type(err) is RateLimitedError
    assert err.retry_after == 7.0
    assert error_from_response(418, "", {}).message == "HTTP 418"
    assert type(error_from_response(418, "", {})) is APIError
    assert type(error_from_response(400, '{"error":"x","code":"NOT_FOUND"}')) is NotFoundError
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
