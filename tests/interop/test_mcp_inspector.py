"""Interoperability: the official MCP inspector (npm ``@modelcontextprotocol/inspector``,
a TypeScript client) drives ``maia mcp`` over stdio and ``/mcp`` over HTTP.

`make test` installs it from tests/interop/package-lock.json when npm is present; CI sets
MAIA_TEST_REQUIRE_INTEROP so a missing inspector fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer

INSPECTOR = Path(__file__).parent / "node_modules" / ".bin" / "mcp-inspector"
REQUIRED = os.environ.get("MAIA_TEST_REQUIRE_INTEROP") == "1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not INSPECTOR.exists() and not REQUIRED,
        reason="the MCP inspector is not installed (make interop needs npm)",
    ),
]


def inspect(*args: str, timeout: float = 120) -> Any:
    """Runs the inspector's CLI mode; returns its JSON answer."""
    assert INSPECTOR.exists(), "run `make interop` (CI requires the inspector)"
    result = subprocess.run(
        [str(INSPECTOR), "--cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
    )
    assert result.returncode == 0, result.stderr or result.stdout
    return json.loads(result.stdout)


def stdio_server(data_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "maia",
        "mcp",
        "--data-dir",
        str(data_dir),
        "-e",
        "MAIA_EMBEDDING_PROVIDER=hashing",
    ]


def test_inspector_over_stdio(tmp_path: Path) -> None:
    server = stdio_server(tmp_path / "data")
    tools = inspect(*server, "--method", "tools/list")
    assert {t["name"] for t in tools["tools"]} == {
        "remember",
        "recall",
        "forget",
        "list_memories",
        "get_context",
        "relate",
        "update_memory",
        "maia_complete",
        "maia_stream",
        "maia_list_models",
    }
    assert all(t["inputSchema"]["additionalProperties"] is False for t in tools["tools"])

    made = inspect(
        *server,
        "--method",
        "tools/call",
        "--tool-name",
        "remember",
        "--tool-arg",
        "content=Alice drinks green tea",
        "--tool-arg",
        "namespace=interop",
    )
    assert made["isError"] is False
    memory_id = made["structuredContent"]["id"]

    found = inspect(
        *server,
        "--method",
        "tools/call",
        "--tool-name",
        "recall",
        "--tool-arg",
        "query=green tea",
        "--tool-arg",
        "namespace=interop",
    )
    assert [m["id"] for m in found["structuredContent"]["memories"]] == [memory_id]

    templates = inspect(*server, "--method", "resources/templates/list")
    assert "maia://memory/{id}" in {t["uriTemplate"] for t in templates["resourceTemplates"]}
    read = inspect(*server, "--method", "resources/read", "--uri", f"maia://memory/{memory_id}")
    assert json.loads(read["contents"][0]["text"])["content"] == "Alice drinks green tea"
    prompts = inspect(*server, "--method", "prompts/list")
    assert {p["name"] for p in prompts["prompts"]} == {
        "inject_context",
        "summarize_memories",
        "explore_memories",
    }

    refused = inspect(
        *server,
        "--method",
        "tools/call",
        "--tool-name",
        "forget",
        "--tool-arg",
        f"id={memory_id}",
        "--tool-arg",
        "confirm=false",
    )
    assert refused["isError"] is True, "forget without confirm deletes nothing"


def test_inspector_over_http(serve: Callable[..., LiveServer]) -> None:
    # This inspector version (the last for Node 20) sends no custom headers, so the server
    # is an open loopback one; keys over /mcp are covered with the Python SDK's client.
    server = serve()
    url = f"{server.url}/mcp"
    made = inspect(
        url,
        "--transport",
        "http",
        "--method",
        "tools/call",
        "--tool-name",
        "remember",
        "--tool-arg",
        "content=Bob rides a bicycle",
    )
    assert made["structuredContent"]["namespace"] == "default"
    assert server.maia.get_memory(made["structuredContent"]["id"]).content == "Bob rides a bicycle"
    context = inspect(
        url,
        "--transport",
        "http",
        "--method",
        "tools/call",
        "--tool-name",
        "get_context",
        "--tool-arg",
        "query=bicycle",
    )
    assert "Bob rides a bicycle" in context["structuredContent"]["context"]
