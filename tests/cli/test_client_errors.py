"""Every error path of the client commands: the stderr line and the exit status."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import httpx
import pytest
from typer.testing import Result

from tests.cli.conftest import maia
from tests.client.conftest import Reply, ScriptedServer
from tests.conftest import LiveServer

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def url(shared_server: LiveServer) -> str:
    return shared_server.url


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


def check(result: Result, status: int, line: str) -> None:
    assert result.exit_code == status, result.output
    assert result.stdout == ""
    assert result.stderr == line + "\n"


NOT_FOUND = [
    (["memory", "get", MISSING], f"get memory: memory not found: {MISSING}"),
    (["memory", "update", MISSING, "-c", "x"], "update memory: memory not found"),
    (["memory", "delete", MISSING], "delete memory: memory not found"),
    (["namespace", "get", "a/nowhere"], "get namespace: namespace not found: a/nowhere"),
    (["namespace", "update", "nowhere", "--inherit"], "update namespace: namespace not found"),
    (["namespace", "delete", "nowhere"], "delete namespace: namespace not found"),
]


@pytest.mark.parametrize(("args", "line"), NOT_FOUND)
def test_not_found_exits_3(url: str, args: list[str], line: str) -> None:
    result = maia(*args, "-s", url)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: failed to {line}")
    assert result.stderr.endswith(" (NOT_FOUND)\n")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["memory", "create", "-c", "x", "--confidence", "7"],
            "Error: failed to create memory: invalid confidence: must be between 0 and 1 "
            "(INVALID_INPUT)",
        ),
        (
            ["memory", "create", "-c", "x", "-t", "procedural"],
            "Error: failed to create memory: invalid type: ",
        ),
        (
            ["memory", "create", "-c", ""],
            "Error: failed to create memory: invalid content: must not be empty (INVALID_INPUT)",
        ),
        (
            ["memory", "list", "-t", "nonsense"],
            "Error: failed to list memories: invalid type",
        ),
        (
            ["memory", "get", " "],
            "Error: failed to get memory: invalid id: must not be blank (INVALID_INPUT)",
        ),
        (
            ["namespace", "create", "bad\u0007name"],
            "Error: failed to create namespace: invalid name: must not contain control "
            "characters (INVALID_INPUT)",
        ),
    ],
    ids=["range", "type", "empty", "filter", "blank-id", "name"],
)
def test_invalid_input_exits_2(url: str, args: list[str], line: str) -> None:
    result = maia(*args, "-s", url)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(line)
    assert result.stderr.endswith("(INVALID_INPUT)\n")


def test_payload_too_large_exits_2(serve: Callable[..., LiveServer]) -> None:
    server = serve(max_request_bytes=2048)
    result = maia("memory", "create", "-s", server.url, "-c", "x" * 5000)
    check(result, 2, "Error: failed to create memory: request body too large (PAYLOAD_TOO_LARGE)")


def test_usage_error_exits_2() -> None:
    result = maia("memory", "create", "-s", "http://127.0.0.1:9")  # no --content
    assert result.exit_code == 2
    assert "--content" in result.stderr


def test_already_exists_exits_7(url: str, ns: str) -> None:
    assert maia("namespace", "create", ns, "-s", url).exit_code == 0
    result = maia("namespace", "create", ns, "-s", url)
    check(
        result,
        7,
        f"Error: failed to create namespace: namespace already exists: {ns} (ALREADY_EXISTS)",
    )


def test_auth_exits_4(serve: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(api_key="s3cret")
    check(
        maia("stats", "-s", server.url),
        4,
        "Error: failed to get stats: unauthorized: API key is required (UNAUTHORIZED)",
    )
    check(
        maia("memory", "list", "-s", server.url, "--api-key", "wrong"),
        4,
        "Error: failed to list memories: unauthorized: invalid API key (UNAUTHORIZED)",
    )
    assert maia("stats", "-s", server.url, "--api-key", "s3cret").exit_code == 0
    monkeypatch.setenv("MAIA_API_KEY", "s3cret")
    assert maia("namespace", "list", "-s", server.url).exit_code == 0


def test_forbidden_exits_4(scripted: ScriptedServer) -> None:
    scripted.script(Reply(403, {"error": "insufficient scope", "code": "INSUFFICIENT_SCOPE"}))
    check(
        maia("memory", "delete", "m1", "-s", scripted.url),
        4,
        "Error: failed to delete memory: insufficient scope (INSUFFICIENT_SCOPE)",
    )


def test_an_answer_from_something_else_is_one_short_line(scripted: ScriptedServer) -> None:
    page = "<html>\n<head><title>404 Not Found</title></head>\n" + "<p>nothing here</p>\n" * 200
    scripted.script(Reply(404, page, headers={"content-type": "text/html"}))
    result = maia("namespace", "list", "-s", scripted.url)
    assert result.exit_code == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: failed to list namespaces: <html> <head>")
    assert len(line) < 400


def test_rate_limited_exits_5(serve: Callable[..., LiveServer]) -> None:
    server = serve(rate_limit_rps=1)
    for _ in range(2):  # the burst
        httpx.get(f"{server.url}/health", timeout=10)
    check(  # a create is never retried
        maia("memory", "create", "-s", server.url, "-c", "x"),
        5,
        "Error: failed to create memory: rate_limit_exceeded: too many requests, please slow "
        "down (RATE_LIMITED)",
    )


def test_quota_exceeded_exits_5(url: str, ns: str) -> None:
    httpx.post(f"{url}/v1/namespaces", json={"name": ns, "config": {"max_memories": 1}})
    assert maia("memory", "create", "-s", url, "-n", ns, "-c", "one").exit_code == 0
    result = maia("memory", "create", "-s", url, "-n", ns, "-c", "two")
    assert result.exit_code == 5
    assert result.stderr.startswith("Error: failed to create memory: ")
    assert result.stderr.endswith("(QUOTA_EXCEEDED)\n")


def test_unreachable_exits_6() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = maia("memory", "create", "-s", url, "-c", "x")
    assert result.exit_code == 6
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: failed to create memory: cannot reach {url}: ")


def test_unavailable_exits_6(scripted: ScriptedServer) -> None:
    scripted.script(Reply(503, {"error": "shutting down", "code": "UNAVAILABLE"}))
    check(
        maia("namespace", "create", "x", "-s", scripted.url),
        6,
        "Error: failed to create namespace: shutting down (UNAVAILABLE)",
    )


@pytest.mark.parametrize(
    ("reply", "line"),
    [
        (
            Reply(500, {"error": "internal server error", "code": "INTERNAL_ERROR"}),
            "Error: failed to create memory: internal server error (INTERNAL_ERROR)",
        ),
        (Reply(502, "Bad Gateway"), "Error: failed to create memory: Bad Gateway"),
        (
            Reply(200, "<html></html>", headers={"Content-Type": "text/html"}),
            "Error: failed to create memory: unexpected answer to POST /v1/memories (HTTP 200)",
        ),
    ],
    ids=["500", "502-text", "not-maia"],
)
def test_server_errors_exit_1(scripted: ScriptedServer, reply: Reply, line: str) -> None:
    scripted.script(reply)
    result = maia("memory", "create", "-c", "x", "-s", scripted.url)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(line)
