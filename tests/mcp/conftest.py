"""MCP test helpers: real clients of the official SDK over stdio (a child process) and
streamable HTTP (a live uvicorn server). No mocks."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

ROOT = Path(__file__).resolve().parents[2]


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 60) -> None:
    """Runs an async scenario from a sync test (with a deadline, so a hang fails)."""

    async def bounded() -> None:
        with anyio.fail_after(timeout):
            await scenario()

    anyio.run(bounded)


def stdio_params(data_dir: Path, *, provider: str = "hashing") -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "maia", "mcp", "--data-dir", str(data_dir)],
        env={"MAIA_EMBEDDING_PROVIDER": provider},
        cwd=str(data_dir.parent),
    )


@asynccontextmanager
async def stdio_client(data_dir: Path, *, provider: str = "hashing") -> AsyncIterator[Client]:
    async with Client(stdio_params(data_dir, provider=provider), cache=None) as client:
        yield client


@asynccontextmanager
async def http_client(
    base_url: str, *, headers: dict[str, str] | None = None
) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30, read=60))
    async with http:
        transport = streamable_http_client(f"{base_url}/mcp", http_client=http)
        async with Client(transport, cache=None) as client:
            yield client


def text_of(result: Any) -> str:
    block = result.content[0]
    assert block.type == "text"
    return str(block.text)


async def call_ok(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Calls a tool that must succeed; returns its structuredContent."""
    result: CallToolResult = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


async def call_error(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    """Calls a tool that must fail as a tool error result; returns the error text."""
    result: CallToolResult = await client.call_tool(tool, arguments)
    assert result.is_error, result
    return text_of(result)
