"""``maia mcp`` over stdio: the SDK's client spawns ``python -m maia mcp`` (no mocks)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import LiveServer
from tests.mcp import scenarios
from tests.mcp.conftest import call_ok, run, stdio_client

pytestmark = pytest.mark.slow


def test_every_tool_resource_and_prompt(tmp_path: Path) -> None:
    """One child process (start-up dominates the time): contract check 40 and more."""

    async def scenario() -> None:
        async with stdio_client(tmp_path / "data") as client:
            await scenarios.check_listing(client)
            await scenarios.check_tools(client, "stdio")
            await scenarios.check_schema_violations(client)
            await scenarios.check_resources(client, "res")
            await scenarios.check_prompts(client, "res")
            await scenarios.check_inference(client)

    run(scenario)


def test_recall_relevance_with_the_local_model(tmp_path: Path) -> None:
    """The real embedding model: a paraphrase with no shared keyword is found first."""
    facts = [
        "Alice drinks green tea every morning",
        "The server room is on the third floor",
        "Bob's birthday party is next Saturday",
        "Quarterly taxes must be filed by April",
        "Alice's favourite colour is blue",
    ]

    async def scenario() -> None:
        async with stdio_client(tmp_path / "data", provider="local") as client:
            ids = [
                (await call_ok(client, "remember", {"content": fact, "namespace": "sem"}))["id"]
                for fact in facts
            ]
            found = await call_ok(
                client, "recall", {"query": "What beverage does Alice like?", "namespace": "sem"}
            )
            assert found["memories"][0]["id"] == ids[0]
            scores = [m["score"] for m in found["memories"]]
            assert scores == sorted(scores, reverse=True)
            assert all(0 <= s <= 1 for s in scores)
            ctx = await call_ok(
                client, "get_context", {"query": "Alice's morning drink", "namespace": "sem"}
            )
            assert facts[0] in ctx["context"]
            # Forgetting by query needs evidence that the query is about a memory: the
            # best match of a query about nothing stored still scores well.
            found = await call_ok(client, "recall", {"query": "zzzz qqqq", "namespace": "sem"})
            assert found["memories"][0]["score"] >= 0.5
            for unrelated in ("zzzz qqqq", "hello", "What's 2+2?"):
                kept = await call_ok(
                    client, "forget", {"confirm": True, "query": unrelated, "namespace": "sem"}
                )
                assert kept == {"deleted": 0, "ids": []}
            gone = await call_ok(
                client, "forget", {"confirm": True, "query": "hot beverages", "namespace": "sem"}
            )
            assert gone == {"deleted": 1, "ids": [ids[0]]}

    run(scenario, timeout=120)


def test_remote_mode_acts_on_a_server_over_rest(
    tmp_path: Path, serve: Callable[..., LiveServer]
) -> None:
    """`maia mcp --url` with an API key: the same contract, the server's store."""
    server = serve(api_key="remote-key")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "maia", "mcp", "--url", server.url, "--api-key", "remote-key"],
        env={},
        cwd=str(tmp_path),
    )

    async def scenario() -> None:
        async with Client(params, cache=None) as client:
            await scenarios.check_listing(client, inference=False)
            await scenarios.check_tools(client, "remote")
            await scenarios.check_schema_violations(client)
            await scenarios.check_resources(client, "remote-res")
            await scenarios.check_prompts(client, "remote-res")

    run(scenario, timeout=120)
    assert server.maia.count_memories("remote") > 0, "the memories live on the server"


def test_remote_mode_reports_a_bad_key_at_start(
    tmp_path: Path, serve: Callable[..., LiveServer]
) -> None:
    server = serve(api_key="remote-key")
    result = subprocess.run(
        [sys.executable, "-m", "maia", "mcp", "--url", server.url, "--api-key", "wrong"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 4
    assert "invalid API key" in result.stderr
