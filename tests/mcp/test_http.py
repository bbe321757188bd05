"""MCP over streamable HTTP at ``/mcp`` of the REST app (a live uvicorn server), and its
parity with REST: the same store, the same errors, the same authentication."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import anyio
import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import LiveServer
from tests.mcp import scenarios
from tests.mcp.conftest import call_error, call_ok, http_client, run

pytestmark = pytest.mark.slow


def test_every_tool_resource_and_prompt(server: LiveServer) -> None:
    async def scenario() -> None:
        async with http_client(server.url) as client:
            await scenarios.check_listing(client)
            await scenarios.check_tools(client, "http")
            await scenarios.check_schema_violations(client)
            await scenarios.check_resources(client, "res")
            await scenarios.check_prompts(client, "res")
            await scenarios.check_inference(client)

    run(scenario)


def test_mcp_and_rest_share_one_store(server: LiveServer) -> None:
    async def scenario() -> None:
        async with (
            http_client(server.url) as client,
            httpx.AsyncClient(base_url=server.url, timeout=30) as rest,
        ):
            # Written over MCP, read over REST.
            made = await call_ok(
                client, "remember", {"content": "Bob likes sailing", "namespace": "p"}
            )
            got = await rest.get(f"/v1/memories/{made['id']}")
            assert got.status_code == 200
            assert got.json()["content"] == "Bob likes sailing"
            assert got.json()["namespace"] == "p"
            # Written over REST, found over MCP.
            created = await rest.post(
                "/v1/memories", json={"namespace": "p", "content": "Carol plays the cello"}
            )
            assert created.status_code == 201
            found = await call_ok(client, "recall", {"query": "cello", "namespace": "p"})
            assert found["memories"][0]["id"] == created.json()["id"]
            # Updated over MCP, seen over REST.
            await call_ok(client, "update_memory", {"id": made["id"], "tags": ["hobby"]})
            assert (await rest.get(f"/v1/memories/{made['id']}")).json()["tags"] == ["hobby"]
            # Deleted over MCP, gone over REST.
            await call_ok(client, "forget", {"id": made["id"], "confirm": True})
            assert (await rest.get(f"/v1/memories/{made['id']}")).status_code == 404

    run(scenario)


def test_unknown_id_is_the_same_error_over_rest_and_mcp(server: LiveServer) -> None:
    missing = str(uuid.uuid4())

    async def scenario() -> None:
        async with (
            http_client(server.url) as client,
            httpx.AsyncClient(base_url=server.url, timeout=30) as rest,
        ):
            for method, tool, arguments in (
                ("DELETE", "forget", {"id": missing, "confirm": True}),
                ("PUT", "update_memory", {"id": missing, "content": "new"}),
            ):
                body = {"content": "new"} if method == "PUT" else None
                answer = await rest.request(method, f"/v1/memories/{missing}", json=body)
                assert answer.status_code == 404
                assert answer.json()["code"] == "NOT_FOUND"
                assert await call_error(client, tool, arguments) == answer.json()["error"]

    run(scenario)


def test_forget_without_confirm_deletes_nothing(server: LiveServer) -> None:
    async def scenario() -> None:
        async with http_client(server.url) as client:
            made = await call_ok(client, "remember", {"content": "keep me", "namespace": "k"})
            result = await client.call_tool("forget", {"id": made["id"], "confirm": False})
            assert result.is_error
            assert result.structured_content is None
            result = await client.call_tool("forget", {"query": "keep", "confirm": False})
            assert result.is_error
            assert (await call_ok(client, "list_memories", {"namespace": "k"}))["total"] == 1
            with pytest.raises(MCPError):  # confirm omitted: a schema violation
                await client.call_tool("forget", {"id": made["id"]})
            assert (await call_ok(client, "list_memories", {"namespace": "k"}))["total"] == 1

    run(scenario)


def test_concurrent_sessions_lose_nothing_and_do_not_mix(server: LiveServer) -> None:
    sessions, per_session = 20, 3

    async def one_session(n: int) -> None:
        ns = f"agent-{n}"
        async with http_client(server.url) as client:
            ids = set()
            for i in range(per_session):
                made = await call_ok(
                    client,
                    "remember",
                    {"content": f"agent {n} note {i} marker{n}x{i}", "namespace": ns},
                )
                ids.add(made["id"])
            found = await call_ok(client, "recall", {"query": f"marker{n}x1", "namespace": ns})
            assert found["memories"], ns
            assert found["memories"][0]["content"] == f"agent {n} note 1 marker{n}x1"
            assert {m["id"] for m in found["memories"]} <= ids
            listed = await call_ok(client, "list_memories", {"namespace": ns})
            assert listed["total"] == per_session
            assert {m["id"] for m in listed["memories"]} == ids

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            for n in range(sessions):
                group.start_soon(one_session, n)

    run(scenario, timeout=120)
    assert server.maia.stats().total_memories == sessions * per_session


def test_mcp_endpoint_needs_the_api_key(serve: Callable[..., LiveServer]) -> None:
    server = serve(api_key="k")

    async def scenario() -> None:
        # Without the key the client cannot even connect (the SDK reports the 401 as an
        # error response from inside its task group).
        with pytest.raises(ExceptionGroup) as caught:
            async with http_client(server.url) as client:
                await client.list_tools()
        assert caught.group_contains(MCPError, match="error response", depth=None)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as raw:
            answer = await raw.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert answer.status_code == 401
            assert answer.json() == {"error": "unauthorized", "message": "API key is required"}
            answer = await raw.post(
                "/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"X-API-Key": "wrong"},
            )
            assert answer.status_code == 401
        for headers in ({"X-API-Key": "k"}, {"Authorization": "Bearer k"}):
            async with http_client(server.url, headers=headers) as client:
                made = await call_ok(client, "remember", {"content": "secret", "namespace": "a"})
                assert made["namespace"] == "a"

    run(scenario)
